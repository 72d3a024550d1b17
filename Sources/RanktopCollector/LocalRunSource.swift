import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run whose collector runs in this process (`demo`, `launch`, `run`): events come from the
/// collector's log as it grows, control requests go straight to the collector.
public struct LocalRunSource: RunSource {
    public let collector: Collector
    /// Written as `by` on injections: `user@host`.
    public var requester: String

    public init(collector: Collector, requester: String = LocalRunSource.currentUser()) {
        self.collector = collector
        self.requester = requester
    }

    /// The whole log so far, then each commit as it lands, a read of the log per batch; finishes
    /// when the collector stops.
    public func batches() -> AsyncStream<[Event]> {
        let tail = collector.followLog()
        return AsyncStream(unfolding: { await tail.nextBatch() }, onCancel: { Task { await tail.finish() } })
    }

    public func injectTrigger(reason: String?) async throws -> String {
        let result = await collector.inject(reason: reason, by: requester)
        if result.ranks == 0 { throw TransportError("no rank took injection \(result.id): the run ended, or its ranks never connected") }
        return result.id
    }

    public func requestStack(rank: Int) async throws {
        _ = try await collector.requestStack(rank: rank)
    }

    public var label: String { collector.addresses.first?.description ?? collector.logPath }
    public var canControl: Bool { true }

    /// `user@host` of this process, for the `by` of an injection.
    public static func currentUser() -> String {
        var user = getenv("USER").map { String(cString: $0) } ?? ""
        if user.isEmpty, let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { user = String(cString: name) }
        return "\(user.isEmpty ? "unknown" : user)@\(PeerIdentity.hostName())"
    }
}
