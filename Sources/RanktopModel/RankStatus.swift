/// Where a rank is, as protocol v1 derives it.
public enum RankStatus: String, Sendable, CaseIterable, Comparable {
    case running, waiting, exited, failed, lost

    /// Terminal states stay until the rank says `hello` again.
    public var isTerminal: Bool { self == .exited || self == .failed || self == .lost }

    public static func < (a: RankStatus, b: RankStatus) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
