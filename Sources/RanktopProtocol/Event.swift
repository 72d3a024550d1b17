/// One protocol-v1 event: the fields every event carries plus its kind-specific body.
///
/// See `docs/protocol.md`. Fields that a reader does not know are not kept here; the collector
/// stores the original line, so nothing an emitter sent is lost from the log.
public struct Event: Sendable, Equatable {
    /// Global rank, or -1 for an event the collector makes about the whole run.
    public var rank: Int
    /// Wall-clock seconds since the Unix epoch at the emitter.
    public var ts: Double
    /// Per-rank counter; a gap means lost events.
    public var seq: Int?
    public var body: EventBody

    public init(rank: Int, ts: Double, seq: Int? = nil, _ body: EventBody) {
        self.rank = rank
        self.ts = ts
        self.seq = seq
        self.body = body
    }

    @inlinable public var kind: EventKind { body.kind }
}

public enum EventBody: Sendable, Equatable {
    /// Boxed: a hello is large and rare, and every other event is copied around by value.
    indirect case hello(Hello)
    case progress(Progress)
    case barrierEnter(BarrierEnter)
    case barrierExit(n: Int)
    case phaseEnter(PhaseEnter)
    case phaseExit(name: String)
    case triggerSet(TriggerSet)
    case triggerCheck(n: Int, fired: Bool)
    case log(level: LogLevel, msg: String)
    case heartbeat
    case stack(id: String, frames: [String])
    /// Boxed, as `hello`: its strings would widen every event.
    indirect case collectiveEnter(CollectiveEnter)
    case collectiveExit(CollectiveExit)
    case bye(code: Int?, error: String?)
    // Written by the collector.
    case lost(reason: String)
    /// The collector can no longer hear the rank (its node's relay is gone), though the rank
    /// may well be running: any later event of the rank ends it.
    case unreachable(reason: String)
    case dropped(count: Int)
    case inject(Injection)
    /// Lines the collector could not keep (the disk was full), written once it could again.
    case discarded(count: Int, reason: String?)
    /// The launcher stops its ranks on the user's word (written before the signal goes out).
    case stop(Stop)
    /// The collector's own start and clean end (ranktop extension): a start with no end before
    /// the next start, or before the end of the log, is a collector that died.
    indirect case collector(CollectorRecord)

    @inlinable public var kind: EventKind {
        switch self {
        case .hello: .hello
        case .progress: .progress
        case .barrierEnter: .barrierEnter
        case .barrierExit: .barrierExit
        case .phaseEnter: .phaseEnter
        case .phaseExit: .phaseExit
        case .triggerSet: .triggerSet
        case .triggerCheck: .triggerCheck
        case .log: .log
        case .heartbeat: .heartbeat
        case .stack: .stack
        case .collectiveEnter: .collectiveEnter
        case .collectiveExit: .collectiveExit
        case .bye: .bye
        case .lost: .lost
        case .unreachable: .unreachable
        case .dropped: .dropped
        case .inject: .inject
        case .discarded: .discarded
        case .stop: .stop
        case .collector: .collector
        }
    }
}

public enum EventKind: String, Sendable, CaseIterable, Hashable {
    case hello
    case progress
    case barrierEnter = "barrier.enter"
    case barrierExit = "barrier.exit"
    case phaseEnter = "phase.enter"
    case phaseExit = "phase.exit"
    case triggerSet = "trigger.set"
    case triggerCheck = "trigger.check"
    case log
    case heartbeat
    case stack
    case bye
    case lost
    case dropped
    case inject
    case discarded
    case stop
    case collectiveEnter = "collective.enter"
    case collectiveExit = "collective.exit"
    case unreachable
    case collector

    /// 0..<count, for tables indexed by kind. A switch, not a lookup: it runs once per event on
    /// the reducer's hot path, and the compiler makes every new kind name its ordinal (a test
    /// checks they are exactly 0..<count).
    @inlinable public var ordinal: Int {
        switch self {
        case .hello: 0
        case .progress: 1
        case .barrierEnter: 2
        case .barrierExit: 3
        case .phaseEnter: 4
        case .phaseExit: 5
        case .triggerSet: 6
        case .triggerCheck: 7
        case .log: 8
        case .heartbeat: 9
        case .stack: 10
        case .bye: 11
        case .lost: 12
        case .dropped: 13
        case .inject: 14
        case .discarded: 15
        case .stop: 16
        case .collectiveEnter: 17
        case .collectiveExit: 18
        case .unreachable: 19
        case .collector: 20
        }
    }

    public static let count = allCases.count
}

public struct Hello: Sendable, Equatable {
    public var v: Int
    public var run: String
    public var world: Int
    public var localRank: Int
    public var localWorld: Int
    public var node: String
    public var pid: Int
    public var runtime: String
    /// Collective timeout in seconds, when the runtime knows it.
    public var timeout: Double?
    public var restart: Int?
    public var caps: [String]
    public var token: String?

    public init(
        v: Int = 1, run: String, world: Int, localRank: Int, localWorld: Int, node: String, pid: Int,
        runtime: String, timeout: Double? = nil, restart: Int? = nil, caps: [String] = [], token: String? = nil
    ) {
        self.v = v
        self.run = run
        self.world = world
        self.localRank = localRank
        self.localWorld = localWorld
        self.node = node
        self.pid = pid
        self.runtime = runtime
        self.timeout = timeout
        self.restart = restart
        self.caps = caps
        self.token = token
    }
}

public struct Progress: Sendable, Equatable {
    public var step: Int
    public var total: Int?
    public var epoch: Double?
    /// Name -> value, in the order the emitter sent them.
    public var metrics: [Metric]

    public init(step: Int, total: Int? = nil, epoch: Double? = nil, metrics: [Metric] = []) {
        self.step = step
        self.total = total
        self.epoch = epoch
        self.metrics = metrics
    }
}

public struct Metric: Sendable, Equatable {
    public var name: String
    public var value: Double
    public init(_ name: String, _ value: Double) {
        self.name = name
        self.value = value
    }
}

public struct BarrierEnter: Sendable, Equatable {
    public var n: Int
    public var name: String?
    public var site: String?
    public var phase: String?

    public init(n: Int, name: String? = nil, site: String? = nil, phase: String? = nil) {
        self.n = n
        self.name = name
        self.site = site
        self.phase = phase
    }
}

public enum PhaseMode: String, Sendable, Equatable {
    case mainFirst = "main_first"
    case localMainFirst = "local_main_first"
}

public struct PhaseEnter: Sendable, Equatable {
    public var name: String
    public var mode: PhaseMode
    /// This rank goes first.
    public var main: Bool

    public init(name: String, mode: PhaseMode, main: Bool) {
        self.name = name
        self.mode = mode
        self.main = main
    }
}

public enum TriggerSource: String, Sendable, Equatable {
    case code
    case manual
}

public struct TriggerSet: Sendable, Equatable {
    public var source: TriggerSource
    public var reason: String?
    /// The injection id, for `manual`.
    public var id: String?

    public init(source: TriggerSource, reason: String? = nil, id: String? = nil) {
        self.source = source
        self.reason = reason
        self.id = id
    }
}

public enum LogLevel: String, Sendable, Equatable, CaseIterable {
    case debug, info, warning, error
}

/// A collector saying it started (`state: "start"`) or ended cleanly (`"end"`), with its
/// process and host, so a reader of the log can tell a collector that died from a run that ended.
public struct CollectorRecord: Sendable, Equatable {
    public enum State: String, Sendable {
        case start, end
    }

    public var state: State
    public var pid: Int
    /// The collector's host name.
    public var node: String

    public init(state: State, pid: Int, node: String) {
        self.state = state
        self.pid = pid
        self.node = node
    }
}

public struct Injection: Sendable, Equatable {
    public var id: String
    public var reason: String?
    /// `user@host` of whoever asked.
    public var by: String?

    public init(id: String, reason: String? = nil, by: String? = nil) {
        self.id = id
        self.reason = reason
        self.by = by
    }
}

/// The launcher stopping its ranks because a user asked (Ctrl-C, SIGTERM, SIGHUP, or quitting the
/// dashboard): the ranks' deaths by that signal are then not failures.
public struct Stop: Sendable, Equatable {
    /// The signal sent to the ranks, `SIGINT` or `SIGTERM`.
    public var signal: String
    /// `user@host` of whoever asked.
    public var by: String?
    /// How it was asked: `SIGINT received`, `quit in the dashboard`.
    public var reason: String?
    /// `failure` when the launcher stopped the other ranks because one failed (as torchrun
    /// does), not because someone asked; nil (or `user`) otherwise.
    public var source: String?

    public init(signal: String, by: String? = nil, reason: String? = nil, source: String? = nil) {
        self.signal = signal
        self.by = by
        self.reason = reason
        self.source = source
    }

    public static let afterFailure = "failure"
}

/// A rank issued a collective (ranktop extension): the n-th of its group on every member is the
/// same call.
public struct CollectiveEnter: Sendable, Equatable {
    /// A stable name; `world` for the default group.
    public var group: String
    /// This rank's ordinal of collectives in the group.
    public var n: Int
    /// `all_reduce`, `all_gather`, `broadcast`, `barrier`, `send`, ...
    public var op: String
    public var size: Int?
    /// The group's global ranks, sent on a rank's first collective of a group other than `world`.
    public var members: [Int]?
    public var bytes: Int?
    public var dtype: String?
    public var site: String?
    /// The API that issued it: `check_trigger`, `gather_for_metrics`, `ddp.gradients`, ...
    public var label: String?
    /// Issued with `async_op=True`: it blocks only inside `work.wait()`.
    public var isAsync: Bool?

    public init(
        group: String, n: Int, op: String, size: Int? = nil, members: [Int]? = nil, bytes: Int? = nil,
        dtype: String? = nil, site: String? = nil, label: String? = nil, isAsync: Bool? = nil
    ) {
        self.group = group
        self.n = n
        self.op = op
        self.size = size
        self.members = members
        self.bytes = bytes
        self.dtype = dtype
        self.site = site
        self.label = label
        self.isAsync = isAsync
    }
}

/// The rank's part of collective (group, n) is done.
public struct CollectiveExit: Sendable, Equatable {
    public var group: String
    public var n: Int
    public var op: String?

    public init(group: String, n: Int, op: String? = nil) {
        self.group = group
        self.n = n
        self.op = op
    }
}
