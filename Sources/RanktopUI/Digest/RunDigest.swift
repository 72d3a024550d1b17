import RanktopModel

/// What a frame needs that the model does not keep: per-rank conditions at `now`, counts, the
/// step spread and the leader. Computed once per frame in O(world), from the model alone.
public struct RunDigest: Sendable {
    public let now: Double
    public let world: Int
    /// Condition by rank number, 0..<world.
    public let conditions: [RankCondition]
    /// Last reported step by rank number, nil where none.
    public let steps: [Int?]
    public let counts: [RankCondition: Int]
    public let stepMin: Int?
    public let stepMedian: Int?
    public let stepMax: Int?
    /// When the run began and (for a run whose ranks all ended) when it ended.
    public let startedAt: Double?
    public let endedAt: Double?

    public init(model: RunModel, now: Double, staleAfter: Double) {
        self.now = now
        world = model.world
        var conditions = [RankCondition](repeating: .silent, count: world)
        var counts: [RankCondition: Int] = [:]
        var sortedSteps: [Int] = []
        sortedSteps.reserveCapacity(world)
        var stepByRank = [Int?](repeating: nil, count: world)
        var allEnded = world > 0
        var lastEnd: Double?
        // Fields are read through the array in place: copying a whole RankInfo (its histories
        // and strings) per rank per frame is what a 4096-rank frame would spend its time on.
        let slots = model.rankSlots
        for r in 0..<world {
            guard r < slots.count, let status = slots[r]?.status, let lastTs = slots[r]?.lastTs else {
                counts[.silent, default: 0] += 1
                allEnded = false
                continue
            }
            var condition = RankCondition(status)
            if !status.isTerminal, now - lastTs > staleAfter { condition = .stale }
            if status.isTerminal {
                lastEnd = max(lastEnd ?? lastTs, lastTs)
            } else {
                allEnded = false
            }
            conditions[r] = condition
            counts[condition, default: 0] += 1
            if let step = slots[r]?.step {
                sortedSteps.append(step)
                stepByRank[r] = step
            }
        }
        self.conditions = conditions
        self.counts = counts
        steps = stepByRank
        sortedSteps.sort()
        stepMin = sortedSteps.first
        stepMax = sortedSteps.last
        stepMedian = sortedSteps.isEmpty ? nil : sortedSteps[sortedSteps.count / 2]
        startedAt = model.firstTs
        endedAt = allEnded ? lastEnd : nil
    }

    public func condition(of rank: Int) -> RankCondition {
        rank >= 0 && rank < conditions.count ? conditions[rank] : .silent
    }

    public func count(_ condition: RankCondition) -> Int { counts[condition] ?? 0 }

    /// Steps behind the most advanced rank.
    public func lag(of rank: Int) -> Int? {
        guard rank >= 0, rank < steps.count, let step = steps[rank], let leader = stepMax else { return nil }
        return max(0, leader - step)
    }

    /// Seconds the run has been going (to its end, once every rank ended).
    public var elapsed: Double? {
        guard let start = startedAt else { return nil }
        return max(0, (endedAt ?? now) - start)
    }
}
