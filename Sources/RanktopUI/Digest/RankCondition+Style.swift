import RanktopModel

/// How the dashboard draws each condition.
extension RankCondition {
    public var role: ThemeRole {
        switch self {
        case .running: .stateRunning
        case .waiting: .stateWaiting
        case .exited, .stopped: .stateExited
        case .failed: .stateFailed
        case .lost: .stateLost
        case .stale, .unreachable: .stale
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
        case .stale, .unreachable: glyphs.gridStale
        case .silent: glyphs.gridSilent
        }
    }
}
