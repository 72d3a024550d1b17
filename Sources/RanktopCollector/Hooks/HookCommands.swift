import RanktopModel

/// The shell commands the collector runs once per episode of an unattended run (`--on-stall`,
/// `--on-failure`, `--on-end`).
public struct HookCommands: Sendable, Equatable {
    public var onStall: String?
    public var onFailure: String?
    public var onEnd: String?
    /// A hook still running after this long is killed, and that is reported.
    public var timeout: Double
    /// When a rank counts as stalled for `onStall` (`--stall-after`).
    public var stallPolicy: StallPolicy = .standard

    public static let defaultTimeout = 30.0

    public init(onStall: String? = nil, onFailure: String? = nil, onEnd: String? = nil, timeout: Double = HookCommands.defaultTimeout) {
        self.onStall = onStall
        self.onFailure = onFailure
        self.onEnd = onEnd
        self.timeout = timeout
    }

    public var isEmpty: Bool { onStall == nil && onFailure == nil && onEnd == nil }

    func command(for kind: RunAlert.Kind) -> String? {
        switch kind {
        case .stall: onStall
        case .failure: onFailure
        case .end: onEnd
        }
    }
}
