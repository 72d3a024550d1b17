import RanktopProtocol

extension Collector {
    /// Logs that the launcher is stopping the run because the user asked, before the ranks get
    /// `signal`: whoever reads the log then tells their deaths by it from failures.
    public func recordStop(signal: String, by: String?, reason: String, afterFailure: Bool = false) {
        log.append(Event(rank: -1, ts: WallClock.now, .stop(Stop(signal: signal, by: by, reason: reason, source: afterFailure ? Stop.afterFailure : nil))))
    }
}
