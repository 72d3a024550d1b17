import RanktopProtocol

/// The run source of a replayed log. The dashboard reads the log through its `ReplayTimeline`,
/// so no events come this way; what the source is for is saying that a log cannot be
/// controlled: triggers and stack requests cannot reach a run that is over.
public struct ReplayedLogSource: RunSource {
    public let path: String

    public struct NotControllable: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String) { self.path = path }

    public var label: String { path }
    public var canControl: Bool { false }

    /// Never yields; ends when its consumer goes.
    public func batches() -> AsyncStream<[Event]> {
        AsyncStream { _ in }
    }

    public func injectTrigger(reason: String?) async throws -> String {
        throw NotControllable(description: "'\(path)' is a replayed log: a trigger cannot reach its run")
    }

    public func requestStack(rank: Int) async throws {
        throw NotControllable(description: "'\(path)' is a replayed log: its ranks cannot be asked for stacks")
    }
}
