import NIOConcurrencyHelpers
import RanktopProtocol

/// A run behind a collector elsewhere (`ranktop serve`, or another ranktop's run), over its
/// Unix socket or TCP: a viewer connection for the events, one short connection per request.
public final class CollectorClient: RunSource {
    public let address: Address
    public let token: String?
    /// The run and the log path the collector announced.
    public let run: String?
    public let logPath: String?
    /// Written as `by` on injections: `user@host`.
    public let requester: String
    private let timeout: Double
    /// The viewer connection opened by `connect`, used by the first `batches()`.
    private let opened: NIOLockedBox<CollectorConnection>

    private init(address: Address, token: String?, requester: String, timeout: Double, connection: CollectorConnection) {
        self.address = address
        self.token = token
        self.requester = requester
        self.timeout = timeout
        run = connection.reply.run
        logPath = connection.reply.log
        opened = NIOLockedBox(connection)
    }

    /// Connects as a viewer (`fromEnd`: of the events logged from now on only); throws a message
    /// for the user when nothing listens there or the collector refuses the token.
    public static func connect(
        to address: Address, token: String?, requester: String = LocalRunSource.currentUser(), timeout: Double = 10,
        fromEnd: Bool = false
    ) async throws -> CollectorClient {
        let connection = try await CollectorConnection.open(address, request: .viewer(token: token, fromEnd: fromEnd), timeout: timeout)
        return CollectorClient(address: address, token: token, requester: requester, timeout: timeout, connection: connection)
    }

    /// The run's history, then live events; finishes when the collector stops or goes away.
    /// Each call after the first opens a new viewer connection.
    public func batches() -> AsyncStream<[Event]> {
        let first = opened.take()
        let address = address, token = token, timeout = timeout
        let connection = NIOLockedBox<CollectorConnection>(nil)
        let pull: @Sendable () async -> [UInt8]?
        if let first {
            connection.set(first)
            pull = first.chunks()
        } else {
            let chunks = NIOLockedBox<@Sendable () async -> [UInt8]?>(nil)
            pull = {
                if let next = chunks.peek() { return await next() }
                guard let fresh = try? await CollectorConnection.open(address, request: .viewer(token: token), timeout: timeout) else {
                    return nil
                }
                connection.set(fresh)
                chunks.set(fresh.chunks())
                return await chunks.peek()?()
            }
        }
        return EventFollower(nextChunk: pull, onEnd: { connection.take()?.close() }).stream()
    }

    /// Injects a trigger into the run; returns its id once the collector handed it to the ranks.
    public func injectTrigger(reason: String?) async throws -> String {
        try await CollectorClient.injectTrigger(at: address, reason: reason, token: token, by: requester, timeout: timeout).id
    }

    public func requestStack(rank: Int) async throws {
        let connection = try await CollectorConnection.open(address, request: .stack(rank: rank, token: token), timeout: timeout)
        connection.close()
    }

    /// One stack request, what `ranktop stack` sends per rank: returns its id, which the rank's
    /// `stack` event will carry.
    public static func requestStack(at address: Address, rank: Int, token: String?, timeout: Double) async throws -> String {
        let connection = try await CollectorConnection.open(address, request: .stack(rank: rank, token: token), timeout: timeout)
        connection.close()
        guard let id = connection.reply.id else {
            throw TransportError("the collector at \(address) accepted the stack request but sent no id")
        }
        return id
    }

    public var label: String { address.description }
    public var canControl: Bool { true }

    /// One injection request: what `ranktop trigger` does. Returns the id and how many ranks got it.
    /// The collector withdraws the injection when no rank took it within `timeout` seconds.
    public static func injectTrigger(
        at address: Address, reason: String?, token: String?, by: String, timeout: Double, run: String? = nil
    ) async throws -> (id: String, ranks: Int) {
        let request = ConnectionRequest.inject(reason: reason, by: by, token: token, run: run, ttl: timeout)
        // The reply comes once a rank took it or the collector withdrew it: allow for both.
        let connection = try await CollectorConnection.open(address, request: request, timeout: timeout + 5)
        connection.close()
        guard let id = connection.reply.id else {
            throw TransportError("the collector at \(address) accepted the injection but sent no id")
        }
        return (id, connection.reply.ranks ?? 0)
    }

    /// Withdraws a pending injection; returns how many ranks had already been handed it.
    public static func cancelInjection(at address: Address, id: String, token: String?, timeout: Double) async throws -> Int {
        let connection = try await CollectorConnection.open(address, request: .cancelInjection(id: id, token: token), timeout: timeout)
        connection.close()
        return connection.reply.ranks ?? 0
    }
}
