import RanktopProtocol

/// One Chrome trace event before it is written: the timed ones (`X`, `i`, `C`) wait in their
/// rank's `ChromeTrack` until nothing earlier can still come for that rank.
struct TraceEvent: Sendable {
    var name: String
    var category: String
    /// `X` (complete), `i` (instant), `C` (counter).
    var phase: String
    /// Microseconds since the Unix epoch (the log's own clock).
    var ts: Int
    /// `X` only.
    var dur: Int?
    var pid: Int
    var tid: Int
    /// Instants: `t` (the rank's track) or `g` (the whole run).
    var scope: String?
    var args: [(String, JSONValue)]

    /// Microseconds, saturated: a hostile timestamp must not trap the conversion.
    static func micros(_ seconds: Double) -> Int {
        let value = (seconds * 1_000_000).rounded()
        guard value.isFinite else { return 0 }
        return Int(max(-9e15, min(9e15, value)))
    }

    static func complete(_ name: String, category: String, start: Int, end: Int, pid: Int, tid: Int, args: [(String, JSONValue)]) -> TraceEvent {
        TraceEvent(name: name, category: category, phase: "X", ts: start, dur: max(0, end - start), pid: pid, tid: tid, scope: nil, args: args)
    }

    static func instant(_ name: String, category: String, ts: Int, pid: Int, tid: Int, global: Bool = false, args: [(String, JSONValue)] = []) -> TraceEvent {
        TraceEvent(name: name, category: category, phase: "i", ts: ts, dur: nil, pid: pid, tid: tid, scope: global ? "g" : "t", args: args)
    }

    /// A counter sample. Counters belong to a process in the format (a node here): the series is
    /// named after the rank, so each rank has its own line; `tid` is kept so that a reader can
    /// check the rank's events in order.
    static func counter(_ name: String, series: String, value: JSONValue, ts: Int, pid: Int, tid: Int) -> TraceEvent {
        TraceEvent(name: name, category: "counter", phase: "C", ts: ts, dur: nil, pid: pid, tid: tid, scope: nil, args: [(series, value)])
    }

    /// Before another event of the same thread and time: longer spans first, so that a parent
    /// precedes the spans nested in it whichever closed first.
    func precedes(_ other: TraceEvent) -> Bool {
        ts != other.ts ? ts < other.ts : (dur ?? -1) > (other.dur ?? -1)
    }

    /// Moved to `ts` when its thread has already been written past its time (a log whose clock
    /// went back): a span keeps its end.
    mutating func clamp(notBefore floor: Int) {
        guard ts < floor else { return }
        if let dur { self.dur = max(0, ts + dur - floor) }
        ts = floor
    }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(name)), ("cat", .string(category)), ("ph", .string(phase)), ("ts", .int(ts)),
        ]
        if let dur { members.append(("dur", .int(dur))) }
        members.append(("pid", .int(pid)))
        members.append(("tid", .int(tid)))
        if let scope { members.append(("s", .string(scope))) }
        if !args.isEmpty { members.append(("args", .object(args))) }
        return .object(members)
    }

    /// A metadata event (`M`): names and sort order of processes and threads.
    static func metadata(_ kind: String, pid: Int, tid: Int? = nil, args: [(String, JSONValue)]) -> JSONValue {
        var members: [(String, JSONValue)] = [("name", .string(kind)), ("ph", .string("M")), ("pid", .int(pid))]
        if let tid { members.append(("tid", .int(tid))) }
        members.append(("args", .object(args)))
        return .object(members)
    }
}
