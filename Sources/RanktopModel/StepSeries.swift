import RanktopProtocol

/// A quantity every rank reports each step (its step time, its loss) across the whole run: per
/// step, the minimum, median and maximum over the ranks that reported it. At most `capacity`
/// points: when full, neighbours merge (min of the mins, max of the maxes, the medians'
/// mean), so a week-long run keeps its whole shape at a coarser step.
public struct StepSeries: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var firstStep: Int
        public var lastStep: Int
        public var min: Double
        public var median: Double
        public var max: Double
        /// Ranks that reported the step (the most of the steps merged).
        public var ranks: Int
    }

    public let capacity: Int
    public private(set) var finished: [Point] = []
    /// Values of the steps still coming in, by step.
    private var pending: [Int: [Double]] = [:]
    private var newestStep = Int.min
    /// The smallest key of `pending`, kept so that a value costs no scan of the pending steps.
    private var oldestPending: Int?
    /// A step is complete once every rank heard from reported it, or once it is this far behind
    /// the newest step (a rank that ended or hangs never will); a later value for it is dropped.
    static let completeAfter = 64
    /// Values kept for one pending step, at most: a hostile log cannot grow this without bound.
    static let maxValuesPerStep = 1 << 16

    public init(capacity: Int = 256) {
        self.capacity = Swift.max(2, capacity)
    }

    /// `ranks`: how many ranks report steps, to know when a step is complete.
    mutating func add(_ value: Double, step: Int, ranks: Int = .max) {
        guard value.isFinite else { return }
        if let last = finished.last, step <= last.lastStep { return }
        // One lookup per value (this runs for every progress event a dashboard or replay folds).
        let count = StepSeries.append(value, to: &pending[step, default: []])
        oldestPending = min(oldestPending ?? step, step)
        newestStep = max(newestStep, step)
        let behind = newestStep.subtractingReportingOverflow(StepSeries.completeAfter).partialValue
        // In order: a step completes only after those before it. Only a value for the oldest step
        // can complete it by count, so its count is looked up again only after one completed.
        var complete = step == oldestPending && count >= ranks
        while let oldest = oldestPending, complete || oldest <= behind {
            if let values = pending.removeValue(forKey: oldest), let point = StepSeries.point(step: oldest, values: values) { finished.append(point) }
            oldestPending = pending.keys.min()
            complete = oldestPending.map { (pending[$0]?.count ?? 0) >= ranks } ?? false
        }
        if finished.count > capacity { halve() }
    }

    private static func append(_ value: Double, to values: inout [Double]) -> Int {
        if values.count < maxValuesPerStep { values.append(value) }
        return values.count
    }

    /// Every point, the steps still coming in included (as they stand now).
    public var points: [Point] {
        finished + pending.keys.sorted().compactMap { StepSeries.point(step: $0, values: pending[$0]!) }
    }

    private static func point(step: Int, values: [Double]) -> Point? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return Point(firstStep: step, lastStep: step, min: sorted[0], median: sorted[(sorted.count - 1) / 2], max: sorted[sorted.count - 1], ranks: sorted.count)
    }

    private mutating func halve() {
        var merged: [Point] = []
        merged.reserveCapacity(finished.count / 2 + 1)
        var i = 0
        while i < finished.count {
            guard i + 1 < finished.count else {
                merged.append(finished[i])
                break
            }
            let a = finished[i], b = finished[i + 1]
            merged.append(Point(
                firstStep: a.firstStep, lastStep: b.lastStep, min: Swift.min(a.min, b.min), median: (a.median + b.median) / 2,
                max: Swift.max(a.max, b.max), ranks: Swift.max(a.ranks, b.ranks)
            ))
            i += 2
        }
        finished = merged
    }
}

/// One completed blocking collective, for the charts: how long its first arrival waited for its last.
public struct CollectiveWait: Sendable, Equatable {
    public var key: CollectiveKey
    public var op: String
    public var waitCaused: Double
}

extension RunModel {
    /// A rank's progress into the run's charts: its step time (as `applyProgressToRank` measures
    /// it) and its `loss` metric, if any.
    mutating func noteSeries(_ progress: Progress, ts: Double, stepBefore: Int?, tsBefore: Double?) {
        if let stepBefore, let tsBefore, progress.step > stepBefore, ts > tsBefore {
            stepTimeSeries.add((ts - tsBefore) / Double(progress.step - stepBefore), step: progress.step, ranks: heardRanks)
        }
        if let loss = progress.metrics.first(where: { $0.name == "loss" }) { lossSeries.add(loss.value, step: progress.step, ranks: heardRanks) }
    }
}
