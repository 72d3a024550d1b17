import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import NIOConcurrencyHelpers
import RanktopProtocol
import RanktopEmitter

/// The distributed state of this process, with Hugging Face Accelerate's semantics (it mirrors
/// `accelerate.PartialState`): who am I, wait for everyone, main process first, triggers,
/// progress. Every primitive also reports itself to ranktop when `RANKTOP_ADDR` is set.
///
/// Ranks coordinate through a store that rank 0 hosts at `MASTER_ADDR:MASTER_PORT` (in the manner
/// of torch's TCPStore), never through ranktop's collector: a run does not depend on anyone
/// watching it. With one process (WORLD_SIZE unset or 1) no store exists and the collectives
/// return at once, as in Accelerate.
///
/// Call `finish()` (or use `run(_:)`) when the program ends, so the collector hears a clean `bye`.
public final class DistributedState: Sendable {
    public struct Options: Sendable {
        /// How long a collective may wait for the other ranks, in seconds (torch's default is
        /// 30 minutes). Reported to ranktop in `hello.timeout`.
        public var collectiveTimeout: Double
        /// How long a rank keeps trying to reach rank 0's store at start.
        public var connectTimeout: Double
        public var emitter: EmitterOptions

        public init(collectiveTimeout: Double = 1800, connectTimeout: Double = 60, emitter: EmitterOptions = EmitterOptions()) {
            self.collectiveTimeout = collectiveTimeout
            self.connectTimeout = connectTimeout
            self.emitter = emitter
        }
    }

    public static let runtimeName = "ranktop-swift/0.1"

    public let rank: Int
    public let worldSize: Int
    public let localRank: Int
    public let localWorldSize: Int
    /// The run id shared by every rank (`RANKTOP_RUN`, or the one rank 0 made up).
    public let run: String
    public let options: Options

    public var isMainProcess: Bool { rank == 0 }
    public var isLocalMainProcess: Bool { localRank == 0 }

    let emitter: Emitter?
    let rendezvous: RendezvousClient?
    let store: RendezvousServer?
    let activity: ActivityStack
    let inbox: InjectionInbox
    let counters = NIOLockedValueBox(Counters())
    /// Kept alive for as long as the state: a released dispatch source stops delivering.
    let signalSources = NIOLockedValueBox<[RetainedSignalSource]>([])
    /// Signalled by a termination signal's handler as it starts (see `awaitTheStopThatExplains`).
    let terminationStarted = DispatchSemaphore(value: 0)

    struct Counters {
        var barriers = 0
        var checks = 0
        /// Collectives of the world group (the checks' all-reduces), the `n` of `collective.enter`.
        var worldCollectives = 0
        var flag = false
        /// Names of the main-first phases this rank is inside, innermost last.
        var phases: [String] = []
        var finished = false
    }

    /// Reads the launch environment of this process.
    public convenience init(options: Options = Options()) throws(RendezvousError) {
        try self.init(environment: ProcessInfo.processInfo.environment, options: options)
    }

    /// - Throws: `RendezvousError` when the environment is inconsistent or rank 0's store cannot
    ///   be reached within `options.connectTimeout` (the rank's `bye` then says why).
    public init(environment: [String: String], options: Options = Options()) throws(RendezvousError) {
        let launch = try LaunchEnvironment(parsing: environment)
        rank = launch.rank
        worldSize = launch.worldSize
        localRank = launch.localRank
        localWorldSize = launch.localWorldSize
        self.options = options
        let activity = ActivityStack()
        let inbox = InjectionInbox()
        self.activity = activity
        self.inbox = inbox

        let proposedRun = launch.run ?? DistributedState.makeRunID()
        let controls = ControlDesk(activity: activity, inbox: inbox)
        func startEmitter(run: String) -> Emitter? {
            let hello = Hello(
                run: run, world: launch.worldSize, localRank: launch.localRank, localWorld: launch.localWorldSize,
                node: DistributedState.hostName(), pid: Int(getpid()), runtime: DistributedState.runtimeName,
                timeout: options.collectiveTimeout, restart: launch.restart, caps: ["inject", "stack"])
            let emitter = Emitter.fromEnvironment(
                environment, rank: launch.rank, hello: hello, options: options.emitter, onControl: controls.handle)
            controls.attach(emitter)
            return emitter
        }
        // With a run id known up front the rank reports before it waits for the others.
        var emitter = launch.run != nil || launch.worldSize == 1 ? startEmitter(run: proposedRun) : nil

        guard launch.worldSize > 1 else {
            run = proposedRun
            rendezvous = nil
            store = nil
            self.emitter = emitter
            return
        }
        do {
            let store = launch.rank == 0
                ? try RendezvousServer(host: launch.masterAddress, port: launch.masterPort, world: launch.worldSize, run: proposedRun)
                : nil
            let client = try RendezvousClient(
                host: launch.masterAddress, port: launch.masterPort, rank: launch.rank, world: launch.worldSize,
                proposedRun: proposedRun, connectTimeout: options.connectTimeout)
            if emitter == nil { emitter = startEmitter(run: client.run) }
            run = client.run
            rendezvous = client
            self.store = store
            self.emitter = emitter
        } catch {
            // Tell whoever watches why this rank never joined, then let the program fail.
            let reporter = emitter ?? startEmitter(run: proposedRun)
            reporter?.emit(.log(level: .error, msg: error.message))
            reporter?.emit(.bye(code: 1, error: error.message))
            reporter?.close(timeout: 1)
            throw error
        }
    }

    deinit {
        rendezvous?.close()
        store?.stop()
    }

    /// Says `bye` (clean for code 0 without error) and closes the rendezvous and the emitter.
    /// Later calls do nothing.
    public func finish(code: Int = 0, error: String? = nil) {
        let first = counters.withLockedValue { counters in
            defer { counters.finished = true }
            return !counters.finished
        }
        guard first else { return }
        emit(.bye(code: code, error: error))
        // Rank 0 hosts the store: let the others read their last answers and leave first.
        store?.waitForOtherRanksToLeave(timeout: 2)
        rendezvous?.close()
        emitter?.close(timeout: 1)
        store?.stop()
    }

    /// Runs `body`, then finishes: cleanly, or with the error `body` threw (and rethrows it).
    public func run<T>(_ body: (DistributedState) throws -> T) throws -> T {
        do {
            let result = try body(self)
            finish()
            return result
        } catch {
            if let rendezvous = error as? RendezvousError, rendezvous.storeGone { awaitTheStopThatExplains() }
            finish(code: 1, error: String(describing: error))
            throw error
        }
    }

    /// Runs `body` with a frame of your own on the stack ranktop shows for this rank ("train
    /// loop", "epoch 3"), so a stack request says where the program is between primitives.
    public func withActivity<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        activity.push(.text(label))
        defer { activity.pop() }
        return try body()
    }

    /// What an emitter would say about this rank so far; nil when nothing is reported.
    public var emitterStatistics: EmitterStatistics? { emitter?.statistics }

    @inline(__always)
    func emit(_ body: EventBody) {
        emitter?.emit(body)
    }

    static func site(_ fileID: String, _ line: Int) -> String { "\(fileID):\(line)" }

    private static func makeRunID() -> String {
        let stamp = Int(Date().timeIntervalSince1970)
        return "swift-\(String(stamp, radix: 36))-\(getpid())"
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Answers the collector's control lines on the emitter's thread: injections go to the inbox for
/// the training thread, stack requests are answered at once from the activity stack.
final class ControlDesk: Sendable {
    private let activity: ActivityStack
    private let inbox: InjectionInbox
    /// Set once, right after the emitter exists (it needs this desk first).
    private let emitter = NIOLockedValueBox<Emitter?>(nil)

    init(activity: ActivityStack, inbox: InjectionInbox) {
        self.activity = activity
        self.inbox = inbox
    }

    func attach(_ emitter: Emitter?) {
        self.emitter.withLockedValue { $0 = emitter }
    }

    @Sendable func handle(_ line: ControlLine) {
        switch line {
        case let .inject(id, reason):
            inbox.receive(id: id, reason: reason)
        case let .stackRequest(id):
            let frames = activity.snapshot()
            emitter.withLockedValue { $0 }?.emit(.stack(id: id, frames: frames))
        }
    }
}
