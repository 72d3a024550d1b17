import RanktopModel
extension RunReport {
    // The diagnosis itself is derived once, in `RunSnapshot` (Views/Diagnosis.swift); the report
    // only words its tables' times the same way.

    /// How long before the log's last event `ts` was. A report is read long after the run, so
    /// "ago" (from when?) and "just now" would mislead: the reference is the end of the log.
    func ago(_ ts: Double) -> String {
        let age = now - ts
        return age < 1 ? "at the end of the log" : "\(Format.duration(age)) before the end of the log"
    }

    /// `ago` for a table cell.
    func beforeEnd(_ ts: Double) -> String {
        let age = now - ts
        return age < 1 ? "at the end" : "\(Format.duration(age)) before the end"
    }
}
