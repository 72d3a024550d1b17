import RanktopProtocol

/// Everything the model knows about one rank.
public struct RankInfo: Sendable {
    public let rank: Int
    public internal(set) var status: RankStatus = .running
    public internal(set) var node: String?
    public internal(set) var pid: Int?
    public internal(set) var localRank: Int?
    public internal(set) var runtime: String?
    public internal(set) var caps: [String] = []
    /// Whether a `hello` was seen; a rank known only from other ranks' view has none.
    public internal(set) var saidHello = false
    public internal(set) var firstTs: Double
    public internal(set) var lastTs: Double

    public internal(set) var step: Int?
    public internal(set) var total: Int?
    public internal(set) var epoch: Double?
    /// Smoothed steps per second.
    public internal(set) var stepRate: Double?
    public internal(set) var lastProgressTs: Double?
    public internal(set) var metrics: [Metric] = []

    /// The barrier this rank waits in.
    public internal(set) var barrier: RankBarrier?
    /// The collectives this rank is in now (blocking, or async ops in flight).
    public internal(set) var collectives: [CollectiveKey: RankCollective] = [:]
    /// Time spent in blocking collectives that completed.
    public internal(set) var collectiveWaits = CollectiveWaitStats()
    /// The last time the rank moved on: a step, or a barrier or collective it left. A rank whose
    /// heartbeats keep coming while this stands still is stalled.
    public internal(set) var lastActivityTs: Double?
    /// The main-first phase this rank is in.
    public internal(set) var phase: RankPhase?
    /// Highest barrier ordinal entered, -1 before the first.
    public internal(set) var highestBarrier = -1
    /// Ordinal of the last trigger check, -1 before the first.
    public internal(set) var lastCheck = -1
    /// How often this rank entered each phase name, to tell occurrences apart.
    var phaseCounts: [String: Int] = [:]

    /// Events lost, from `seq` gaps and from the collector's `dropped` events (whichever says more:
    /// a collector may report the same gap both ways).
    public var dropped: Int { max(gapDrops, reportedDrops) }
    var gapDrops = 0
    var reportedDrops = 0
    var nextSeq: Int?

    public internal(set) var restarts = 0
    public internal(set) var restartGeneration: Int?
    public internal(set) var exitCode: Int?
    public internal(set) var error: String?
    public internal(set) var lostReason: String?
    /// Since when, and why, the collector cannot hear the rank (its node's relay is gone); nil
    /// once anything of the rank arrives again.
    public internal(set) var unreachable: (since: Double, reason: String)?
    public internal(set) var lastLog: (level: LogLevel, msg: String, ts: Double)?
    public internal(set) var lastStack: StackSample?
    /// The rank's last event other than a heartbeat: what it was last doing.
    public internal(set) var lastActivityKind: EventKind?
    public internal(set) var lastActivityKindTs: Double?
    /// The last call site it reported (a barrier's or a collective's).
    public internal(set) var lastSite: String?

    /// Recent barrier waits (seconds) and step times (seconds per step), for sparklines.
    public internal(set) var recentWaits = BoundedHistory<Double>(capacity: 32)
    public internal(set) var recentStepTimes = BoundedHistory<Double>(capacity: 32)
    /// The median of `recentStepTimes`, kept as steps come so that judging a stall costs nothing.
    public internal(set) var typicalStepTime: Double?
    /// `recentStepTimes` in ascending order, kept alongside it so that the median costs one
    /// insertion per step rather than a sort.
    var sortedStepTimes = SortedWindow()
    /// Step times less the time the rank spent waiting in barriers and blocking collectives
    /// during the step: its own work. In synchronous training every rank's step takes as long as
    /// the slowest one's, so only this tells the straggler (whose steps are all work) from the
    /// ranks that wait for it. Its median is the straggler score's measure.
    public internal(set) var recentBusyTimes = BoundedHistory<Double>(capacity: 32)
    public internal(set) var typicalBusyTime: Double?
    var sortedBusyTimes = SortedWindow()
    /// Seconds waited in barriers and blocking collectives since the last progress event.
    var waitedSinceProgress = 0.0
    /// Recent events of this rank, when the model keeps them (the live view does, a report does not).
    public internal(set) var recentEvents: BoundedHistory<Event>

    init(rank: Int, ts: Double, recentEventLimit: Int) {
        self.rank = rank
        self.firstTs = ts
        self.lastTs = ts
        self.recentEvents = BoundedHistory(capacity: recentEventLimit)
    }

    /// The collective that says most about where the rank is: the oldest blocking one, else the
    /// oldest async op in flight.
    /// The collective the rank was in when it ended (lost, failed, stopped); nil once it is back.
    public internal(set) var collectiveAtEnd: RankCollective?

    // Inlinable: a caller in another module that reads it for every rank in place (the grid)
    // otherwise copies the whole `RankInfo` first, to hand the opaque getter a value of its own.
    @inlinable public var currentCollective: RankCollective? {
        collectives.values.min { a, b in
            a.isAsync != b.isAsync ? !a.isAsync : a.since != b.since ? a.since < b.since : a.n < b.n
        }
    }

    /// Fraction of the run's steps done, when the total is known.
    public var fractionDone: Double? {
        guard let step, let total, total > 0 else { return nil }
        return min(1, Double(step) / Double(total))
    }
}

public struct RankBarrier: Sendable, Equatable {
    public var n: Int
    public var name: String?
    public var site: String?
    public var since: Double
}

public enum PhasePart: String, Sendable, Equatable {
    /// The main rank runs the block first.
    case main
    /// The main rank finished the block and waits for everyone at the phase's barrier.
    case mainDone = "main_done"
    /// A non-main rank waits for the main rank.
    case waitingForMain = "waiting_for_main"
    /// A non-main rank runs the block after the main rank.
    case others
}

public struct RankPhase: Sendable, Equatable {
    public var name: String
    public var mode: PhaseMode
    public var main: Bool
    public var since: Double
    public var part: PhasePart
    /// When the current part began.
    public var partSince: Double
    /// Which occurrence of this phase name on this rank (0 for the first).
    public var occurrence: Int
    /// The barrier ordinal this rank made inside the phase, once it did.
    var barrierN: Int?
}

public struct StackSample: Sendable, Equatable {
    public var id: String
    public var frames: [String]
    public var ts: Double
}
