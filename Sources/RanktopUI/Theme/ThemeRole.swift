import RanktopModel

/// The semantic elements a theme colours. Theme files name them by `key`.
public enum ThemeRole: String, CaseIterable, Sendable, Hashable {
    case text
    case dim
    case header
    case headerLabel = "header.label"
    case title
    case titleFocused = "title.focused"
    case border
    case borderFocused = "border.focused"
    case selection
    case footer
    case footerKey = "footer.key"
    case stateRunning = "state.running"
    case stateWaiting = "state.waiting"
    case stateExited = "state.exited"
    case stateFailed = "state.failed"
    case stateLost = "state.lost"
    case stateSilent = "state.silent"
    case stale
    case barrier
    case barrierMissing = "barrier.missing"
    case barrierTimeout = "barrier.timeout"
    case mismatch
    case phase
    case phaseMain = "phase.main"
    case trigger
    case triggerPending = "trigger.pending"
    case progressFill = "progress.fill"
    case progressTrack = "progress.track"
    case sparkline
    case warning
    case error
    case dialog
    case dialogBorder = "dialog.border"
    case input

    public var key: String { rawValue }

    public static func state(_ status: RankStatus) -> ThemeRole {
        switch status {
        case .running: .stateRunning
        case .waiting: .stateWaiting
        // Stopped on the user's word: ended as asked, so drawn like a clean exit.
        case .exited, .stopped: .stateExited
        case .failed: .stateFailed
        case .lost: .stateLost
        }
    }
}
