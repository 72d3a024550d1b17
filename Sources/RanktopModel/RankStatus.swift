/// Where a rank is, as protocol v1 derives it.
public enum RankStatus: String, Sendable, CaseIterable, Comparable {
    /// `stopped`: ended by the signal its launcher sent because the user asked (see `RunModel.stop`).
    case running, waiting, exited, stopped, failed, lost

    /// Terminal states stay until the rank says `hello` again.
    public var isTerminal: Bool { self == .exited || self == .stopped || self == .failed || self == .lost }

    public static func < (a: RankStatus, b: RankStatus) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// When and how the launcher was asked to stop the run (the log's `stop` event): by the user,
/// or by itself after a rank failed (`afterFailure`).
public struct StopRequest: Sendable, Equatable {
    public var signal: String
    public var by: String?
    public var reason: String?
    public var ts: Double
    public var afterFailure = false
}
