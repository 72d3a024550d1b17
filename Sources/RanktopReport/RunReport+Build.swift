import RanktopModel
import RanktopProtocol

extension RunReport {
    /// `at`: the moment the report speaks of (`report --at`); by default the log's last event.
    /// `collectorGone`: the log's last collector has no end record and its process is gone, a
    /// fact of the machine that only the caller can check.
    public init(
        model: RunModel, read: LogReadSummary = LogReadSummary(), stallPolicy: StallPolicy = .standard, at: Double? = nil,
        collectorGone: Bool = false
    ) {
        run = model.run
        otherRuns = model.otherRuns
        world = model.world
        events = read.lines == 0 ? model.eventCount : read.events
        rejected = read.rejected
        rejectedSamples = read.rejectedSamples
        rejectedByReason = read.rejectedByReason
        startTs = model.firstTs
        endTs = at ?? model.lastTs
        self.at = at
        nodes = model.nodes
        timeout = model.timeout
        silentRanks = model.silentRankSet
        completedBarriers = model.completedBarrierCount
        droppedTotal = model.droppedTotal
        let snapshot = RunSnapshot(model: model, now: at ?? model.lastTs ?? 0, stallPolicy: stallPolicy)
        diagnosis = snapshot.diagnosis(collectorGone: collectorGone)
        collectors = model.collectorSessions
        scores = snapshot.scores
        health = snapshot.health.text
        if case .quiet = snapshot.health { healthIsQuiet = true }
        self.collectorGone = collectorGone
        openCollectives = snapshot.openCollectives
        stall = snapshot.stall
        completedCollectives = model.completedCollectiveCount
        collectiveMismatches = model.collectiveMismatches.sorted { $0.key < $1.key }.map { (key: $0.key, ops: $0.value) }
        stacks = model.ranks.compactMap { info in info.lastStack.map { (rank: info.rank, sample: $0) } }
        collectorDiscarded = model.collectorDiscarded
        collectorDiscardReason = model.collectorDiscardReason
        phasesFolded = model.phasesFolded
        stop = model.stop

        ranks = model.ranks.map { info in
            RankRow(
                rank: info.rank, node: info.node, status: info.status, step: info.step, total: info.total,
                barrier: info.barrier, collective: info.currentCollective ?? (info.status.isTerminal ? info.collectiveAtEnd : nil), stalled: snapshot.isStalled(info.rank), phase: info.phase?.name, lastTs: info.lastTs, lastProgressTs: info.lastProgressTs, dropped: info.dropped,
                restarts: info.restarts, exitCode: info.exitCode, error: info.error, lostReason: info.lostReason,
                unreachable: info.status.isTerminal ? nil : info.unreachable?.reason
            )
        }

        let world = model.world
        openBarriers = model.openBarriersByN.map { instance in
            OpenBarrier(
                n: instance.n, name: instance.name, site: instance.site, arrived: instance.arrivedRanks,
                missing: instance.missingRankSet(world: world), since: instance.since ?? model.lastTs ?? 0
            )
        }

        let allMismatches = model.mismatches
        mismatches = allMismatches.keys.sorted().map { n in
            let names = allMismatches[n]!.map { (name: $0.key, ranks: $0.value) }.sorted { $0.name < $1.name }
            return Mismatch(n: n, names: names)
        }

        var triggers: [TriggerRow] = model.firings.map { firing in
            let first = firing.causes.first
            let injection = first?.id.flatMap { id in model.injections.first { $0.id == id } }
            return TriggerRow(
                check: firing.check, source: first?.source ?? .code, rank: first?.rank, id: first?.id,
                reason: first?.reason ?? injection?.reason, ts: first?.ts ?? firing.ts, step: firing.step,
                by: injection?.by, causes: firing.causes.count
            )
        }
        // Sets that no check has acted on yet (the run ended or hung first).
        for check in model.pendingCauses.keys.sorted() {
            for cause in model.pendingCauses[check]! {
                triggers.append(TriggerRow(
                    check: nil, source: cause.source, rank: cause.rank, id: cause.id, reason: cause.reason,
                    ts: cause.ts, step: nil, by: nil, causes: 1
                ))
            }
        }
        // Injections no rank applied.
        for injection in model.pendingInjections {
            triggers.append(TriggerRow(
                check: nil, source: .manual, rank: nil, id: injection.id, reason: injection.reason,
                ts: injection.ts, step: nil, by: injection.by, causes: 0
            ))
        }
        self.triggers = triggers

        stragglers = model.stragglerStats.values.sorted {
            $0.waitCaused != $1.waitCaused ? $0.waitCaused > $1.waitCaused : $0.rank < $1.rank
        }

        phases = model.phases.sorted { $0.firstEnter < $1.firstEnter }.map { phase in
            PhaseRow(
                name: phase.name, mode: phase.mode, occurrence: phase.occurrence,
                mainSeconds: phase.mainSeconds, othersSeconds: phase.othersSeconds,
                complete: phase.isComplete, firstEnter: phase.firstEnter
            )
        }
    }

    /// The report's "now": the last moment the log knows of.
    public var now: Double { endTs ?? 0 }

    /// `ranks` is sorted by rank: a binary search keeps a diagnosis of thousands of failed ranks
    /// from going quadratic.
    public func rankRow(_ rank: Int) -> RankRow? {
        var low = 0
        var high = ranks.count
        while low < high {
            let mid = (low + high) / 2
            if ranks[mid].rank < rank { low = mid + 1 } else { high = mid }
        }
        return low < ranks.count && ranks[low].rank == rank ? ranks[low] : nil
    }
}
