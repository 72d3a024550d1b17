import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The collector: ingests every transport, appends the event log, serves viewers, and delivers
/// injected triggers and stack requests to the ranks.
///
/// Thread-safe. Connections feed `RankStream`s on their own threads; shared state (which
/// connection speaks for which rank, pending injections) sits behind one lock, the log behind
/// another, and no code path holds both.
public final class Collector: Sendable {
    public let configuration: CollectorConfiguration
    let log: CollectorLog
    private let state: NIOLockedValueBox<State>
    private let acceptedLines = ManagedAtomic<Int>(0)
    private let rejectedLines = ManagedAtomic<Int>(0)

    struct LiveRank: Sendable {
        var connectionID: Int
        var control: any RankControl
        var pid: Int
        var run: String
    }

    struct PendingInjection: Sendable {
        var id: String
        var line: ControlLine
        /// Runs that were live when it was asked for; a rank of another run (a later run on the
        /// same `serve`) never gets it. Empty: nobody was connected, the first run to come gets it.
        var runs: Set<String>
    }

    struct State: Sendable {
        var started = false
        var stopping = false
        var nextConnectionID = 0
        var transports: [any Transport] = []
        var addresses: [Address] = []
        var flushTimer: RepeatedTask?
        /// The connection that speaks for each rank now.
        var live: [Int: LiveRank] = [:]
        /// Per rank: the pid and next `seq` last seen, to count events lost across a reconnect
        /// (seeded from an existing log, so a restarted collector counts them too).
        var ledger: [Int: (pid: Int, nextSeq: Int)] = [:]
        var pending: [PendingInjection] = []
        /// Injections waiting for a first rank to hand them to.
        var deliveryWaiters: [String: [CheckedContinuation<Int, Never>]] = [:]
        var warned: Set<String> = []
        var connections = 0
    }

    /// Opens (or creates) the log. Listening starts with `start()`.
    public init(configuration: CollectorConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        var initial = State()
        initial.ledger = Collector.seedLedger(logPath: configuration.logPath)
        state = NIOLockedValueBox(initial)
        log = try CollectorLog(path: configuration.logPath, warn: configuration.warn)
    }

    public var logPath: String { configuration.logPath }
    public var runID: String { configuration.runID }

    /// The addresses ranks can be given, once started (TCP ports resolved).
    public var addresses: [Address] { state.withLockedValue { $0.addresses } }

    /// Listens on every configured address. Throws (and listens on none) when one fails.
    @discardableResult
    public func start() async throws -> [Address] {
        let fresh = state.withLockedValue { state -> Bool in
            defer { state.started = true }
            return !state.started
        }
        guard fresh else { return addresses }
        var started: [(any Transport, Address)] = []
        do {
            for address in configuration.listen {
                let transport = try Collector.makeTransport(for: address)
                let bound = try await transport.start(collector: self)
                started.append((transport, bound))
            }
        } catch {
            for (transport, _) in started { await transport.stop() }
            log.close()
            throw error
        }
        // On an event loop, not in Swift's cooperative pool: code that blocks the pool's few
        // threads (a training loop, a test) must not hold back the log.
        let interval = TimeAmount.milliseconds(Int64(configuration.flushInterval * 1000))
        let log = log
        let flushTimer = MultiThreadedEventLoopGroup.singleton.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            log.flush()
        }
        state.withLockedValue { state in
            state.transports = started.map(\.0)
            state.addresses = started.map(\.1)
            state.flushTimer = flushTimer
        }
        return started.map(\.1)
    }

    /// The seam where a transport plugs in: one case per kind of address.
    static func makeTransport(for address: Address) throws -> any Transport {
        switch address {
        case .unix, .tcp:
            return SocketTransport(address: address)
        case .sharedMemory:
            throw TransportError("\(address): the shared-memory transport is not available in this build yet; use unix: or tcp://")
        }
    }

    /// Stops listening, closes every connection (without writing `lost`: the ranks are fine),
    /// flushes and closes the log. Viewers read to the end and finish.
    public func stop() async {
        let (transports, flushTimer, waiters) = state.withLockedValue { state in
            state.stopping = true
            let waiters = state.deliveryWaiters.values.flatMap { $0 }
            state.deliveryWaiters = [:]
            defer { state.transports = [] }
            return (state.transports, state.flushTimer, waiters)
        }
        for waiter in waiters { waiter.resume(returning: 0) }
        flushTimer?.cancel()
        for transport in transports { await transport.stop() }
        log.close()
        for transport in transports { await transport.finish() }
    }

    /// Waits until no rank is connected, or `timeout` seconds pass. A launcher calls this after
    /// its ranks exited, so their last bytes and `lost` are in the log before it stops.
    public func waitUntilRanksDisconnect(timeout: Double) async {
        let deadline = MonotonicClock.now + timeout
        while MonotonicClock.now < deadline {
            if state.withLockedValue({ $0.live.isEmpty }) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// What the collector has seen so far.
    public var statistics: CollectorStatistics {
        let (ranks, connections) = state.withLockedValue { ($0.live.count, $0.connections) }
        return CollectorStatistics(
            connectedRanks: ranks, connections: connections,
            acceptedLines: acceptedLines.load(ordering: .relaxed), rejectedLines: rejectedLines.load(ordering: .relaxed)
        )
    }

    /// Ranks connected now.
    public var connectedRanks: [Int] { state.withLockedValue { $0.live.keys.sorted() } }

    // MARK: control

    /// Logs an `inject` event, then hands the control line to every connected rank. Returns the
    /// injection id and how many ranks got it, once at least one did (it waits for a first rank
    /// when none is connected).
    public func inject(reason: String?, by: String?) async -> (id: String, ranks: Int) {
        let id = "inj-" + Collector.randomHex(8)
        let line = ControlLine.inject(id: id, reason: reason)
        log.append(Event(rank: -1, ts: WallClock.now, .inject(Injection(id: id, reason: reason, by: by))))
        // A user's action is on disk before the ranks act on it.
        log.flush()
        let targets: [any RankControl] = state.withLockedValue { state in
            let runs = Set(state.live.values.map(\.run))
            state.pending.append(PendingInjection(id: id, line: line, runs: runs))
            if state.pending.count > 16 { state.pending.removeFirst() }
            return state.live.values.map(\.control)
        }
        let delivered = await Collector.send(line, to: targets)
        if delivered > 0 { return (id, delivered) }
        let later = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let stopping = state.withLockedValue { state in
                if !state.stopping { state.deliveryWaiters[id, default: []].append(continuation) }
                return state.stopping
            }
            if stopping { continuation.resume(returning: 0) }
        }
        return (id, later)
    }

    /// Asks `rank` for its training thread's stack; the answer arrives as a `stack` event.
    public func requestStack(rank: Int) async throws -> String {
        guard let target = state.withLockedValue({ $0.live[rank]?.control }) else {
            throw TransportError("rank \(rank) is not connected")
        }
        let id = "stk-" + Collector.randomHex(8)
        try await target.send(.stackRequest(id: id))
        return id
    }

    /// Serves a control or viewer request that arrived on a connection.
    public func reply(to request: ConnectionRequest) async -> ConnectionReply {
        guard authorizes(token: request.token) else {
            return .failure(request.token == nil ? "this collector requires a token" : "wrong token", code: "token")
        }
        if state.withLockedValue({ $0.stopping }) { return .failure("the collector is stopping", code: "stopping") }
        switch request {
        case .viewer:
            return ConnectionReply(kind: "viewer.ok", v: 1, run: runID, log: logPath)
        case let .inject(reason, by, _):
            let (id, ranks) = await inject(reason: reason, by: by)
            if ranks == 0 { return .failure("the collector stopped before any rank got injection \(id)", code: "stopping") }
            return ConnectionReply(kind: "inject.ok", id: id, ranks: ranks)
        case let .stack(rank, _):
            do {
                let id = try await requestStack(rank: rank)
                return ConnectionReply(kind: "stack.ok", id: id, rank: rank)
            } catch {
                return .failure("\(error)", code: "no-rank")
            }
        }
    }

    /// Whether `token` is the one this collector requires (any, when it requires none).
    public func authorizes(token: String?) -> Bool {
        guard let required = configuration.token else { return true }
        guard let token else { return false }
        // Constant time in the token's content: no early exit on the first differing byte.
        let a = Array(required.utf8), b = Array(token.utf8)
        var difference = a.count ^ b.count
        for i in 0..<max(a.count, b.count) {
            difference |= Int((i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0))
        }
        return difference == 0
    }

    // MARK: for transports

    /// A stream for a new connection that may turn out to be a rank's.
    public func openRankStream(peer: String, control: any RankControl) -> RankStream {
        let id = state.withLockedValue { state in
            state.nextConnectionID += 1
            state.connections += 1
            return state.nextConnectionID
        }
        return RankStream(collector: self, control: control, connectionID: id, peer: peer)
    }

    /// A follower of the log from its first byte, for a viewer.
    public func followLog() -> LogTail {
        LogTail(log: log)
    }

    struct Registration {
        /// The `seq` a reconnecting process continues from.
        var resumeSeq: Int?
        var injections: [ControlLine] = []
    }

    func registerRank(_ stream: RankStream, hello: Hello) -> Registration {
        guard let rank = stream.rank else { return Registration() }
        let (registration, replaced, waiters) = state.withLockedValue { state in
            var registration = Registration()
            if let known = state.ledger[rank], known.pid == hello.pid {
                registration.resumeSeq = known.nextSeq
            }
            let replaced = state.live[rank]
            state.live[rank] = LiveRank(connectionID: stream.connectionID, control: stream.control, pid: hello.pid, run: hello.run)
            registration.injections = state.pending
                .filter { $0.runs.isEmpty || $0.runs.contains(hello.run) }
                .map(\.line)
            var waiters: [CheckedContinuation<Int, Never>] = []
            for pending in state.pending where pending.runs.isEmpty || pending.runs.contains(hello.run) {
                waiters += state.deliveryWaiters.removeValue(forKey: pending.id) ?? []
            }
            return (registration, replaced, waiters)
        }
        // The same process reconnected while its old connection looked open (a half-open TCP
        // connection): that one is dead. Another process claiming the rank (a restarted rank, or
        // a misconfigured run) is left alone: dropping it would only make the two take turns.
        if let replaced, replaced.pid == hello.pid, replaced.connectionID != stream.connectionID {
            replaced.control.disconnect()
        }
        for waiter in waiters { waiter.resume(returning: 1) }
        return registration
    }

    func rankStreamEnded(_ stream: RankStream, reason: String?) {
        guard let rank = stream.rank else { return }
        let writeLost = state.withLockedValue { state -> Bool in
            if let pid = stream.pid, let next = stream.nextSeq { state.ledger[rank] = (pid, next) }
            guard state.live[rank]?.connectionID == stream.connectionID else { return false }
            state.live[rank] = nil
            return !state.stopping && !stream.saidBye && reason != nil
        }
        if writeLost, let reason {
            log.append(Event(rank: rank, ts: WallClock.now, .lost(reason: reason)))
        }
    }

    func injectionApplied(id: String) {
        state.withLockedValue { state in state.pending.removeAll { $0.id == id } }
    }

    func countLines(accepted: Int = 0, rejected: Int = 0) {
        if accepted > 0 { acceptedLines.wrappingIncrement(by: accepted, ordering: .relaxed) }
        if rejected > 0 { rejectedLines.wrappingIncrement(by: rejected, ordering: .relaxed) }
    }

    func warnOnce(key: String, _ message: String) {
        let first = state.withLockedValue { $0.warned.insert(key).inserted }
        if first { configuration.warn(message) }
    }

    // MARK: helpers

    static func send(_ line: ControlLine, to targets: [any RankControl]) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for target in targets {
                group.addTask {
                    do { try await target.send(line); return true } catch { return false }
                }
            }
            var delivered = 0
            for await ok in group where ok { delivered += 1 }
            return delivered
        }
    }

    /// Reads an existing log once for each rank's last pid and `seq`.
    private static func seedLedger(logPath: String) -> [Int: (pid: Int, nextSeq: Int)] {
        var pids: [Int: Int] = [:]
        var ledger: [Int: (pid: Int, nextSeq: Int)] = [:]
        _ = try? EventLogReader.read(path: logPath) { event in
            guard event.rank >= 0 else { return }
            if case let .hello(hello) = event.body { pids[event.rank] = hello.pid }
            guard let seq = event.seq, let pid = pids[event.rank] else { return }
            ledger[event.rank] = (pid, seq + 1)
        }
        return ledger
    }

    static func randomHex(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<count).map { _ in digits[Int(generator.next() % 16)] })
    }
}

/// Counters for `serve`'s status line and for tests.
public struct CollectorStatistics: Sendable, Equatable {
    public var connectedRanks: Int
    /// Connections accepted so far, of any kind.
    public var connections: Int
    public var acceptedLines: Int
    public var rejectedLines: Int
}
