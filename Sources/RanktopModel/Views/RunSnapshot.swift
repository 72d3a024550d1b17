import RanktopProtocol

/// The run at one moment, derived from `RunModel` and nothing else: each rank's condition, each
/// open wait with who is missing, ranks in the same condition grouped as ranges, the diagnosis
/// and the end-of-run summary. The report (text and JSON), every dashboard panel, the plain view
/// and the headless summary render from this value, so a fact is derived once.
///
/// O(world) to build (conditions are per rank); everything sized by the world beyond that is
/// held as `RankSet` ranges, so a log announcing 2^20 ranks costs the ranks actually seen.
public struct RunSnapshot: Sendable {
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
    /// Barriers open now, by ordinal, with who arrived and who is missing.
    public let openWaits: [OpenWait]
    /// The model it was derived from (copy on write: holding it costs nothing), for the views
    /// that are only computed when asked (here and in the other files of `Views/`).
    let model: RunModel

    /// A rank with no event for this long is stale (heard from, but not lately).
    public static let defaultStaleAfter = 10.0

    /// `now`: the moment to judge at (the wall clock live, the end of the log for a report).
    public init(model: RunModel, now: Double, staleAfter: Double = RunSnapshot.defaultStaleAfter) {
        self.now = now
        world = model.world
        var conditions = [RankCondition](repeating: .silent, count: world)
        var counts: [RankCondition: Int] = [:]
        var sortedSteps: [Int] = []
        sortedSteps.reserveCapacity(min(world, model.rankSlots.count))
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
        openWaits = model.openBarriersByN.map { OpenWait(barrier: $0, world: model.world, lastTs: model.lastTs) }
        self.model = model
    }

    /// Ranks that ended badly or never came, in groups of one condition and one reason, the
    /// earliest first: the root cause leads, what followed from it comes after. Computed when
    /// asked (a dashboard frame does not need it).
    public var incidents: [RankGroup] { RankGroup.incidents(of: model) }

    /// What went wrong, most telling first: one line each, a few lines even at 4096 ranks.
    public var diagnosis: [String] {
        Diagnosis(model: model, now: now, openWaits: openWaits, incidents: incidents).lines
    }

    /// The end-of-run summary (the headless line, the plain view's last line).
    public var summary: RunSummary { RunSummary(model: model, expectedWorld: nil) }

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

/// One barrier that is open: who arrived, who is missing, since when.
public struct OpenWait: Sendable, Equatable {
    public var n: Int
    public var name: String?
    public var site: String?
    public var since: Double
    public var arrived: [Int]
    /// Everyone arrived (an exit was seen) but some ranks are still inside.
    public var everyoneArrived: Bool
    public var missing: RankSet

    init(barrier: BarrierInstance, world: Int, lastTs: Double?) {
        n = barrier.n
        name = barrier.name
        site = barrier.site
        since = barrier.since ?? lastTs ?? 0
        arrived = barrier.arrivedRanks
        everyoneArrived = barrier.everyoneArrived
        missing = barrier.missingRankSet(world: world)
    }
}
