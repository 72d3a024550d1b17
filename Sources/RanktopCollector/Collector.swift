import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RanktopModel
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
/// connections speak for which rank of which run, pending injections, the guards against hostile
/// clients) sits behind one lock, the log behind another, and no code path holds both.
public final class Collector: Sendable {
    public let configuration: CollectorConfiguration
    let log: CollectorLog
    /// Folds the model off the ingest path when stacks are captured and nobody keeps it inline.
    let modelFollower: LogModelFollower?
    let state: NIOLockedValueBox<State>
    private let acceptedLines = ManagedAtomic<Int>(0)
    private let rejectedLines = ManagedAtomic<Int>(0)
    /// Automatic stack capture: policy checks made, and requests handed to ranks.
    let stackCaptureChecks = ManagedAtomic<Int>(0)
    let stackCaptureRequests = ManagedAtomic<Int>(0)
    /// Hooks started (`--on-stall`, `--on-failure`, `--on-end`).
    let hookRuns = ManagedAtomic<Int>(0)
    /// Hooks still running: `stop` waits for them (up to their timeout), so an end hook runs
    /// to its end even when the launcher exits right after.
    let activeHooks = ManagedAtomic<Int>(0)
    /// `--metrics`: the run as Prometheus metrics.
    let runMetrics: RunMetrics?

    /// A rank of a run: two runs on one `serve` both have a rank 0.
    struct RankKey: Hashable, Sendable {
        var run: String
        var rank: Int
    }

    /// One process of a rank: its `seq` continues across that process's reconnects only.
    struct ProcessKey: Hashable, Sendable {
        var run: String
        var rank: Int
        var pid: Int
    }

    struct LiveRank: Sendable {
        var connectionID: Int
        var control: any RankControl
        var key: RankKey
        var pid: Int
    }

    struct State: Sendable {
        var started = false
        var stopping = false
        var nextConnectionID = 0
        var transports: [any Transport] = []
        var addresses: [Address] = []
        var timers: [RepeatedTask] = []
        /// Every rank connection that said hello and is still open, by connection id.
        var live: [Int: LiveRank] = [:]
        /// The connection that speaks for each rank of each run now: the newest live one. When it
        /// goes, the next newest (if any) speaks again, so a stray claimant never strands a rank.
        var current: [RankKey: Int] = [:]
        /// Runs by when their latest rank said hello: control requests that name no run go to
        /// the newest.
        var runSeen: [String: Int] = [:]
        var nextConnectionOrder = 0
        /// Per process: the next `seq` last seen, to count events lost across a reconnect (seeded
        /// from an existing log, so a restarted collector counts them too).
        var ledger: [ProcessKey: Int] = [:]
        var injections = InjectionBook()
        var guards = ClientGuards()
        var warned: Set<String> = []
        /// (run, rank, episode) already asked for a stack by automatic capture.
        var stackCaptures = StackCaptureBook()
        /// The run's episodes so far, for the hooks.
        var alerts = RunAlerts()
        var metricsServer: MetricsServer?
        var connections = 0
    }

    /// Opens (or creates) the log. Listening starts with `start()`.
    public init(configuration: CollectorConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        var initial = State()
        initial.ledger = Collector.seedLedger(logPath: configuration.logPath)
        state = NIOLockedValueBox(initial)
        log = try CollectorLog(path: configuration.logPath, keepsModel: configuration.keepsLiveModel, warn: configuration.warn)
        runMetrics = configuration.metrics == nil ? nil : RunMetrics()
        let needsModel = configuration.stackAfter > 0 || !configuration.hooks.isEmpty || configuration.metrics != nil
        modelFollower = needsModel && !configuration.keepsLiveModel ? LogModelFollower() : nil
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
                let transport = try Collector.makeTransport(for: address, sharedMemory: configuration.sharedMemory)
                let bound = try await transport.start(collector: self)
                started.append((transport, bound))
            }
            if let metrics = configuration.metrics, let runMetrics {
                do {
                    let server = try await MetricsServer.start(host: metrics.host, port: metrics.port, metrics: runMetrics)
                    state.withLockedValue { $0.metricsServer = server }
                } catch {
                    throw TransportError("cannot serve metrics on \(metrics.host):\(metrics.port): \(error)")
                }
            }
            let tcp = started.map(\.1).filter(\.isTCP)
            if let path = configuration.tokenFile, let token = configuration.token, !tcp.isEmpty {
                try TokenFile.write(path: path, token: token, addresses: tcp)
            }
        } catch {
            for (transport, _) in started { await transport.stop() }
            await state.withLockedValue({ $0.metricsServer })?.stop()
            log.close()
            throw error
        }
        // On an event loop, not in Swift's cooperative pool: code that blocks the pool's few
        // threads (a training loop, a test) must not hold back the log.
        let interval = TimeAmount.milliseconds(Int64(configuration.flushInterval * 1000))
        let log = log
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let flushTimer = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            log.flush()
        }
        let expiryTimer = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.expireInjections()
        }
        var timers = [flushTimer, expiryTimer]
        modelFollower?.start(log)
        if configuration.stackAfter > 0 {
            // At most once a second: the policy reads an O(world) snapshot of the live model.
            timers.append(loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
                self?.captureStacks()
            })
        }
        if runMetrics != nil {
            timers.append(loop.scheduleRepeatedTask(initialDelay: .milliseconds(200), delay: .seconds(1)) { [weak self] _ in
                self?.updateMetrics()
            })
        }
        if !configuration.hooks.isEmpty {
            timers.append(loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
                self?.fireHooks()
            })
        }
        state.withLockedValue { state in
            state.transports = started.map(\.0)
            state.addresses = started.map(\.1)
            state.timers = timers
        }
        // Only once listening: a collector that could not start wrote nothing to say it ran.
        log.append(Collector.record(.start))
        // On disk at once: a collector killed within its first flush interval would otherwise
        // leave no trace that it ran, and its death could not be told.
        log.flush()
        if let path = configuration.runFile {
            let file = RunFile(run: runID, pid: Int(getpid()), node: PeerIdentity.hostName(), log: logPath, listen: started.map(\.1))
            do { try file.write(path: path) } catch { configuration.warn("\(error); `ranktop ls` will not list this run") }
        }
        return started.map(\.1)
    }

    /// The seam where a transport plugs in: one case per kind of address.
    static func makeTransport(for address: Address, sharedMemory: SharedMemoryOptions) throws -> any Transport {
        switch address {
        case .unix, .tcp:
            return SocketTransport(address: address)
        case let .sharedMemory(name):
            if let problem = ShmSegment.problem(withName: name) { throw TransportError("\(address): \(problem)") }
            return SharedMemoryTransport(name: name, options: sharedMemory)
        }
    }

    /// Stops listening, closes every connection (without writing `lost`: the ranks are fine),
    /// flushes and closes the log. Viewers read to the end and finish.
    public func stop() async {
        let (transports, timers, waiters) = state.withLockedValue { state in
            state.stopping = true
            let waiters = state.injections.takeAllWaiters()
            defer { state.transports = [] }
            return (state.transports, state.timers, waiters)
        }
        for waiter in waiters { waiter.resume(returning: 0) }
        for timer in timers { timer.cancel() }
        if let path = configuration.tokenFile { TokenFile.remove(path: path) }
        if let path = configuration.runFile, !transports.isEmpty { unlink(path) }
        for transport in transports { await transport.stop() }
        await state.withLockedValue({ $0.metricsServer })?.stop()
        // After the last rank's bytes, so that a reader knows every event came before it.
        if !transports.isEmpty { log.append(Collector.record(.end)) }
        log.close()
        for transport in transports { await transport.finish() }
        await finishHooks()
    }

    /// This collector's start or clean end, for the log (see `CollectorSession`).
    static func record(_ state: CollectorRecord.State) -> Event {
        Event(rank: -1, ts: WallClock.now, .collector(CollectorRecord(state: state, pid: Int(getpid()), node: PeerIdentity.hostName())))
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

    /// The run as the collector has taken it so far: every accepted event and the collector's
    /// own, folded in log order. Empty unless `configuration.keepsLiveModel` or `stackAfter`
    /// (then folded by a follower of the log, up to `LogModelFollower.readInterval` behind it).
    public func model() -> RunModel {
        modelFollower?.model ?? log.model()
    }

    /// What the collector has seen so far.
    public var statistics: CollectorStatistics {
        let (ranks, connections) = state.withLockedValue { ($0.current.count, $0.connections) }
        return CollectorStatistics(
            connectedRanks: ranks, connections: connections,
            acceptedLines: acceptedLines.load(ordering: .relaxed), rejectedLines: rejectedLines.load(ordering: .relaxed),
            stackCaptureChecks: stackCaptureChecks.load(ordering: .relaxed), stackCaptureRequests: stackCaptureRequests.load(ordering: .relaxed)
        )
    }

    /// Ranks connected now (of every run).
    public var connectedRanks: [Int] { state.withLockedValue { Array(Set($0.current.keys.map(\.rank))).sorted() } }

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

    /// Whether a connection from `peer` presenting `token` may speak: a verified local peer of
    /// this user (or root) over a Unix socket needs no token; everyone else needs the right one.
    func admits(_ peer: PeerIdentity, token: String?) -> Bool {
        // A token presented is checked even from a trusted peer: a wrong one is a mistake to report.
        if peer.isTrustedLocal { return token == nil || authorizes(token: token) }
        if configuration.token == nil { return !peer.isNetwork }
        return authorizes(token: token)
    }

    // MARK: for transports

    /// A stream for a new connection that may turn out to be a rank's.
    public func openRankStream(peer: PeerIdentity, control: any RankControl, relayed: Bool = false) -> RankStream {
        let id = state.withLockedValue { state in
            state.nextConnectionID += 1
            state.connections += 1
            return state.nextConnectionID
        }
        return RankStream(collector: self, control: control, connectionID: id, peer: peer, relayed: relayed)
    }

    /// Where a viewer connection's feed starts: the log's first byte, or, `fromEnd`, the end of
    /// what it holds now.
    func viewerStart(fromEnd: Bool) -> Int {
        fromEnd ? log.end() : 0
    }

    /// A follower of the log from its first byte, for a viewer in this process.
    public func followLog() -> LogTail {
        LogTail(log: log)
    }

    func countLines(accepted: Int = 0, rejected: Int = 0) {
        if accepted > 0 { acceptedLines.wrappingIncrement(by: accepted, ordering: .relaxed) }
        if rejected > 0 { rejectedLines.wrappingIncrement(by: rejected, ordering: .relaxed) }
    }

    func warnOnce(key: String, _ message: String) {
        let first = state.withLockedValue { $0.warned.insert(key).inserted }
        if first { configuration.warn(message) }
    }

    /// Reads an existing log once for each process's last `seq`.
    private static func seedLedger(logPath: String) -> [ProcessKey: Int] {
        var processes: [Int: (run: String, pid: Int)] = [:]
        var ledger: [ProcessKey: Int] = [:]
        _ = try? EventLogReader.read(path: logPath) { event in
            guard event.rank >= 0 else { return }
            if case let .hello(hello) = event.body { processes[event.rank] = (hello.run, hello.pid) }
            guard let seq = event.seq, let process = processes[event.rank] else { return }
            // The highest seen: a reconnect's hello (seq 0) must not take a process back to its
            // first event, or the next collector counts its whole history as dropped.
            let key = ProcessKey(run: process.run, rank: event.rank, pid: process.pid)
            ledger[key] = max(ledger[key] ?? 0, seq.saturatingAdd(1))
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
    /// Automatic stack capture: how often the policy was checked, and stack requests it sent.
    public var stackCaptureChecks = 0
    public var stackCaptureRequests = 0
}
