import RanktopModel
import RanktopProtocol

/// The post-mortem of a run: what `ranktop report` prints, built from the model alone (plus what
/// reading the log rejected). "Now" is the log's last timestamp, so a report reads the same
/// whenever it is made.
public struct RunReport: Sendable {
    public struct RankRow: Sendable {
        public var rank: Int
        public var node: String?
        public var status: RankStatus
        public var step: Int?
        public var total: Int?
        public var barrier: RankBarrier?
        /// The collective the rank is in (the oldest blocking one, else an async op in flight).
        public var collective: RankCollective?
        /// Alive but not progressing at the end of the log.
        public var stalled: Bool
        public var phase: String?
        public var lastTs: Double
        /// When the rank last reported progress.
        public var lastProgressTs: Double?
        public var dropped: Int
        public var restarts: Int
        public var exitCode: Int?
        public var error: String?
        public var lostReason: String?
        /// Why the collector could not hear the rank at the end of the log (its relay went).
        public var unreachable: String?

        /// `state` in text and JSON: the model's status, or `unreachable`.
        public var stateLabel: String { unreachable == nil ? status.rawValue : "unreachable" }
    }

    public struct OpenBarrier: Sendable {
        public var n: Int
        public var name: String?
        public var site: String?
        public var arrived: [Int]
        public var missing: RankSet
        public var since: Double
    }

    public struct Mismatch: Sendable {
        public var n: Int
        /// Name -> ranks that gave it, names sorted.
        public var names: [(name: String, ranks: [Int])]
    }

    public struct TriggerRow: Sendable {
        /// The check ordinal that fired; nil for a set or an injection no check acted on.
        public var check: Int?
        public var source: TriggerSource
        public var rank: Int?
        public var id: String?
        public var reason: String?
        public var ts: Double
        public var step: Int?
        public var by: String?
        /// Every cause of the firing, the first being the row's own.
        public var causes: Int
    }

    public struct PhaseRow: Sendable {
        public var name: String
        public var mode: PhaseMode
        public var occurrence: Int
        public var mainSeconds: Double?
        public var othersSeconds: Double?
        public var complete: Bool
        public var firstEnter: Double
    }

    public var run: String?
    public var otherRuns: [String] = []
    public var world: Int
    public var events: Int
    public var rejected: Int
    public var rejectedSamples: [RejectedLine]
    public var rejectedByReason: [String: Int]
    public var startTs: Double?
    public var endTs: Double?
    /// Set for a report of one moment (`report --at`): the state then, not at the end.
    public var at: Double?
    public var nodes: [String]
    public var timeout: Double?
    public var ranks: [RankRow]
    /// World ranks that never sent anything.
    public var silentRanks: RankSet
    public var openBarriers: [OpenBarrier]
    public var openCollectives: [OpenCollective] = []
    /// (group, n) -> op -> ranks, by (group, n).
    public var collectiveMismatches: [(key: CollectiveKey, ops: [String: [Int]])] = []
    public var completedCollectives = 0
    /// No rank progressing at the end of the log.
    public var stall: RunStall?
    /// The newest stack each rank answered, by rank.
    public var stacks: [(rank: Int, sample: StackSample)] = []
    public var mismatches: [Mismatch]
    public var triggers: [TriggerRow]
    public var stragglers: [StragglerStats]
    public var phases: [PhaseRow]
    public var phasesFolded: Int
    public var completedBarriers: Int
    public var droppedTotal: Int
    /// The text's RANKS section lists every rank even at scale (`ranktop report --ranks all`).
    public var listEveryRank = false
    /// What went wrong, most telling first: the snapshot's diagnosis at the end of the log.
    public var diagnosis: [String] = []
    /// Lines the collector itself could not keep (a full disk), and its reason.
    public var collectorDiscarded: Int = 0
    public var collectorDiscardReason: String?
    /// The user asked the launcher to stop the run (the log's `stop` event).
    public var stop: StopRequest?
    /// Every rank's straggler score, by rank; and the run's health line.
    public var scores: [StragglerScore] = []
    public var health: String = ""
    /// Nothing to say (the run ended, or no rank yet): the text leaves the line out.
    public var healthIsQuiet = false
    /// The collectors that wrote the log, oldest first.
    public var collectors: [CollectorSession] = []
    /// The last collector has no end record and its process is gone (checked by the caller).
    public var collectorGone = false
}
