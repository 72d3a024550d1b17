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
    /// Collectives open now, by group and ordinal, with who arrived and who is missing.
    public let openCollectives: [OpenCollective]
    /// Ranks alive but not progressing (see `StallPolicy`).
    public let stalled: RankSet
    /// Set when no rank of the run progresses.
    public let stall: RunStall?
    public let stallPolicy: StallPolicy
    /// The model it was derived from (copy on write: holding it costs nothing), for the views
    /// that are only computed when asked (here and in the other files of `Views/`).
    let model: RunModel

    /// A rank with no event for this long is stale (heard from, but not lately).
    public static let defaultStaleAfter = 10.0

    /// `now`: the moment to judge at (the wall clock live, the end of the log for a report).
    public init(
        model: RunModel, now: Double, staleAfter: Double = RunSnapshot.defaultStaleAfter, stallPolicy: StallPolicy = .standard
    ) {
        self.now = now
        self.stallPolicy = stallPolicy
        world = model.world
        let openWaits = model.openBarriersByN.map { OpenWait(barrier: $0, world: model.world, lastTs: model.lastTs) }
        let openCollectives = RunSnapshot.openCollectives(of: model)
        // Ranks someone waits for: a rank that holds a wait up is not progressing either.
        var awaited: [Int] = []
        for wait in openWaits { awaited += wait.missing.prefix(4096) }
        for collective in openCollectives { if let missing = collective.missing { awaited += missing.prefix(4096) } }
        let awaitedSet = Set(awaited)
        var stalledRanks: [Int] = []
        var aliveRanks = 0
        var lastActivity: Double?
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
            if !status.isTerminal, slots[r]?.unreachable != nil { condition = .unreachable }
            if status.isTerminal {
                lastEnd = max(lastEnd ?? lastTs, lastTs)
            } else {
                allEnded = false
                aliveRanks += 1
                let activity = slots[r]?.lastActivityTs ?? slots[r]?.firstTs ?? lastTs
                lastActivity = max(lastActivity ?? activity, activity)
                let limit = stallPolicy.threshold(typicalStep: slots[r]?.typicalStepTime)
                // Before its first step a rank may be loading for minutes: it is stalled only
                // once it waits for others (in a barrier, a blocking collective, or an async op
                // it has had in flight all along) or others wait for it.
                let inCollective = !(slots[r]?.collectives.isEmpty ?? true)
                let judged = slots[r]?.lastProgressTs != nil || status == .waiting || inCollective || awaitedSet.contains(r)
                if judged, now - activity > limit { stalledRanks.append(r) }
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
        self.openWaits = openWaits
        self.openCollectives = openCollectives
        stalled = RankSet(stalledRanks)
        stall = aliveRanks > 0 && stalledRanks.count == aliveRanks
            ? RunStall(since: lastActivity ?? now, step: stepMax, ranks: stalled) : nil
        self.model = model
    }

    /// A collective open this long is worth showing: DDP keeps gradient buckets in flight for
    /// milliseconds every step, and a panel that flickered with each would hide the one that hangs.
    public static let collectiveNoticeAfter = 1.0

    /// The open collectives that held someone up for a moment (`collectiveNoticeAfter`), oldest first.
    public var heldCollectives: [OpenCollective] {
        openCollectives.filter { now - $0.since >= RunSnapshot.collectiveNoticeAfter }.sorted { $0.since < $1.since }
    }

    /// Shown at most per group: a stuck async op behind thousands is still the oldest shown.
    public static let openCollectivesShownPerGroup = 64

    private static func openCollectives(of model: RunModel) -> [OpenCollective] {
        var shown: [String: Int] = [:]
        return model.openCollectives.compactMap { instance in
            let name = instance.key.group
            shown[name, default: 0] += 1
            guard shown[name]! <= openCollectivesShownPerGroup, let group = model.collectiveGroups[name] else { return nil }
            return OpenCollective(instance: instance, group: group, world: model.world, lastTs: model.lastTs)
        }
    }

    public func isStalled(_ rank: Int) -> Bool { stalled.contains(rank: rank) }

    /// Ranks that ended badly or never came, in groups of one condition and one reason, the
    /// earliest first: the root cause leads, what followed from it comes after. Computed when
    /// asked (a dashboard frame does not need it).
    public var incidents: [RankGroup] { RankGroup.incidents(of: model) }

    /// What went wrong, most telling first: one line each, a few lines even at 4096 ranks.
    public var diagnosis: [String] { diagnosis(collectorGone: false) }

    /// The same, told that the log's last collector is gone without its end record (a fact of
    /// the machine, not of the log: `report` checks its process).
    public func diagnosis(collectorGone: Bool) -> [String] {
        Diagnosis(
            model: model, now: now, openWaits: openWaits, openCollectives: openCollectives, stall: stall,
            stalled: stalled, incidents: incidents, collectorGone: collectorGone
        ).lines
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
