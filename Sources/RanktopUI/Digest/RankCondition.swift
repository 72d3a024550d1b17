import RanktopModel

/// What the dashboard shows a rank as: the model's state, plus two conditions only a viewer with a
/// clock can see: silent (never heard from) and stale (heard from, but not lately).
public enum RankCondition: Int, Sendable, CaseIterable {
    case running, waiting, exited, stopped, failed, lost, stale, silent

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
        }
    }

    public var role: ThemeRole {
        switch self {
        case .running: .stateRunning
        case .waiting: .stateWaiting
        case .exited, .stopped: .stateExited
        case .failed: .stateFailed
        case .lost: .stateLost
        case .stale: .stale
        case .silent: .stateSilent
        }
    }

    func gridGlyph(_ glyphs: Glyphs) -> Unicode.Scalar {
        switch self {
        case .running: glyphs.gridRunning
        case .waiting: glyphs.gridWaiting
        case .exited: glyphs.gridExited
        case .stopped: glyphs.gridStopped
        case .failed: glyphs.gridFailed
        case .lost: glyphs.gridLost
        case .stale: glyphs.gridStale
        case .silent: glyphs.gridSilent
        }
    }

    /// Most urgent first, for sorting by state.
    var urgency: Int {
        switch self {
        case .failed: 0
        case .lost: 1
        case .stale: 2
        case .silent: 3
        case .waiting: 4
        case .running: 5
        case .stopped: 6
        case .exited: 7
        }
    }

    init(_ status: RankStatus) {
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
