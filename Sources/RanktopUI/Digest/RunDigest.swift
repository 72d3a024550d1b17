import RanktopModel

/// What a frame needs that the model does not keep: per-rank conditions at `now`, counts, the
/// step spread and the leader. Computed once per frame in O(world), from the model alone.
public struct RunDigest: Sendable {
    public let now: Double
    public let world: Int
    /// Condition by rank number, 0..<world.
    public let conditions: [RankCondition]
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
        var steps: [Int] = []
        steps.reserveCapacity(world)
        var allEnded = world > 0
        var lastEnd: Double?
        for r in 0..<world {
            guard let info = model.rank(r) else {
                counts[.silent, default: 0] += 1
                allEnded = false
                continue
            }
            var condition = RankCondition(info.status)
            if !info.status.isTerminal, now - info.lastTs > staleAfter { condition = .stale }
            if info.status.isTerminal {
                lastEnd = max(lastEnd ?? info.lastTs, info.lastTs)
            } else {
                allEnded = false
            }
            conditions[r] = condition
            counts[condition, default: 0] += 1
            if let step = info.step { steps.append(step) }
        }
        self.conditions = conditions
        self.counts = counts
        steps.sort()
        stepMin = steps.first
        stepMax = steps.last
        stepMedian = steps.isEmpty ? nil : steps[steps.count / 2]
        startedAt = model.firstTs
        endedAt = allEnded ? lastEnd : nil
    }

    public func condition(of rank: Int) -> RankCondition {
        rank >= 0 && rank < conditions.count ? conditions[rank] : .silent
    }

    public func count(_ condition: RankCondition) -> Int { counts[condition] ?? 0 }

    /// Steps behind the most advanced rank.
    public func lag(of info: RankInfo) -> Int? {
        guard let step = info.step, let leader = stepMax else { return nil }
        return max(0, leader - step)
    }

    /// Seconds the run has been going (to its end, once every rank ended).
    public var elapsed: Double? {
        guard let start = startedAt else { return nil }
        return max(0, (endedAt ?? now) - start)
    }
}
