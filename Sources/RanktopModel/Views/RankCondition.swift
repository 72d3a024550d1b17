/// What a rank is at a moment: the model's state, plus two conditions only a reader with a clock
/// can see: silent (never heard from) and stale (heard from, but not lately). Every view (report,
/// dashboard, plain view, headless summary) reads it from `RunSnapshot`.
public enum RankCondition: Int, Sendable, CaseIterable {
    case running, waiting, exited, stopped, failed, lost, stale, silent
    /// Its node's relay is gone: the rank may be fine, ranktop cannot tell.
    case unreachable

    public var label: String {
        switch self {
        case .running: "running"
        case .waiting: "waiting"
        case .exited: "exited"
        case .stopped: "stopped"
        case .failed: "failed"
        case .lost: "lost"
        case .stale: "stale"
        case .silent: "silent"
        case .unreachable: "unreachable"
        }
    }

    /// Most urgent first, for sorting by state.
    public var urgency: Int {
        switch self {
        case .failed: 0
        case .lost: 1
        case .stale, .unreachable: 2
        case .silent: 3
        case .waiting: 4
        case .running: 5
        case .stopped: 6
        case .exited: 7
        }
    }

    public init(_ status: RankStatus) {
        switch status {
        case .running: self = .running
        case .waiting: self = .waiting
        case .exited: self = .exited
        case .stopped: self = .stopped
        case .failed: self = .failed
        case .lost: self = .lost
        }
    }
}
