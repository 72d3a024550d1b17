import RanktopModel
import RanktopProtocol

/// The model as it stood after the first `index` events of the log, and where the next line
/// starts: a seek restores the checkpoint before its target and folds on from `offset`.
public struct ReplayCheckpoint: Sendable {
    public var index: Int
    /// The run's clock there: the newest timestamp folded (nil before the first event).
    public var clock: Double?
    public var offset: Int
    /// The world the decoder had learnt, so the cursor judges ranks as the first pass did.
    public var world: Int?
    public var model: RunModel
}

/// What the first pass has found so far: checkpoints, notable moments, the log's extent.
/// Bounded: checkpoints are thinned (every other one dropped, the spacing doubled) when they
/// would hold more than the memory budget, so a log of any length costs at most the budget.
public struct ReplayIndex: Sendable {
    public private(set) var checkpoints: [ReplayCheckpoint] = []
    /// Events between two checkpoints.
    public private(set) var spacing: Int
    public var moments: [NotableMoment] = []
    public var momentsOverflow = 0
    public var events = 0
    public var firstTs: Double?
    public var lastTs: Double?
    public var bytesRead = 0
    public var fileSize = 0
    public var rejected = 0
    public var rejectedSamples: [(offset: Int, reason: String)] = []
    /// Set once the first pass read the whole log (never while following one being written).
    public var done = false
    public var error: String?
    let budgetBytes: Int
    /// The most checkpoints the budget allows for the model's size, re-judged as it grows.
    private(set) var maxCheckpoints = ReplayIndex.checkpointCeiling

    static let checkpointCeiling = 512
    /// Fewer only make seeks slower, never the memory larger than `floor` models.
    static let checkpointFloor = 8

    init(spacing: Int, budgetBytes: Int) {
        self.spacing = spacing
        self.budgetBytes = budgetBytes
    }

    /// Whether the first pass should checkpoint after `index` events.
    func wantsCheckpoint(after index: Int) -> Bool { index % spacing == 0 }

    mutating func add(_ checkpoint: ReplayCheckpoint) {
        maxCheckpoints = min(
            ReplayIndex.checkpointCeiling,
            max(ReplayIndex.checkpointFloor, budgetBytes / max(1, ReplayIndex.approximateBytes(of: checkpoint.model)))
        )
        checkpoints.append(checkpoint)
        while checkpoints.count > maxCheckpoints {
            // Keep checkpoint 0 (the empty model) and every one at a multiple of the new spacing.
            spacing *= 2
            checkpoints = checkpoints.filter { $0.index % spacing == 0 }
        }
    }

    /// The last checkpoint at or before event `index`.
    func checkpoint(atOrBefore index: Int) -> ReplayCheckpoint? {
        var lo = 0, hi = checkpoints.count - 1, found: Int?
        while lo <= hi {
            let mid = (lo + hi) / 2
            if checkpoints[mid].index <= index { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found.map { checkpoints[$0] }
    }

    /// The last checkpoint whose clock is at or before `time` (the first, the empty model, when none is).
    func checkpoint(atOrBeforeTime time: Double) -> ReplayCheckpoint? {
        var lo = 0, hi = checkpoints.count - 1, found = checkpoints.isEmpty ? nil : 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            if (checkpoints[mid].clock ?? -.infinity) <= time { found = mid; lo = mid + 1 } else { hi = mid - 1 }
        }
        return found.map { checkpoints[$0] }
    }

    /// Memory the checkpoints may hold, as `approximateBytes` reckons it.
    public var heldBytes: Int { checkpoints.reduce(0) { $0 + ReplayIndex.approximateBytes(of: $1.model) } }

    /// A model's size in memory, roughly: what its per-rank state, open waits and histories
    /// hold. An estimate to size the checkpoints by, not an accounting (the benchmark measures
    /// the real figure); copies share what they did not change, so it errs high.
    static func approximateBytes(of model: RunModel) -> Int {
        // Calibrated on a 64-rank log of 10M events (the replay-seek benchmark): resident
        // memory grew 0.82 MiB per checkpoint, most of it the recent events each rank keeps.
        let event = MemoryLayout<Event>.stride + 192
        var bytes = 8192 + (model.recentEvents.count + model.recentLogs.count) * event
        for info in model.rankSlots {
            guard let info else { continue }
            bytes += 2048 + info.recentEvents.count * event + info.metrics.count * 64 + info.collectives.count * 128
        }
        for barrier in model.openBarriers.values { bytes += 256 + barrier.arrivals.count * 48 }
        for group in model.collectiveGroups.values {
            bytes += 256
            for instance in group.open.values { bytes += 256 + instance.arrivals.count * 64 }
        }
        bytes += model.completedBarriers.count * 128 + model.phases.count * 256 + model.firings.count * 256
        return bytes
    }
}
