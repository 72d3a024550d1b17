import RanktopProtocol

extension RunModel {
    mutating func applyBarrierEnter(_ enter: BarrierEnter, to info: inout RankInfo, ts: Double) {
        // A rank's barriers are sequential: entering n means it has left every earlier one.
        leaveEarlierBarriers(than: enter.n, rank: &info)
        info.highestBarrier = max(info.highestBarrier, enter.n)
        info.barrier = RankBarrier(n: enter.n, name: enter.name, site: enter.site, since: ts)
        if !info.status.isTerminal { info.status = .waiting }
        notePhaseBarrier(enter.n, rank: &info, ts: ts)
        // A late enter (its rank's events were delayed behind the others') must not reopen a
        // barrier that already completed; the rank's own state above still follows it.
        guard !isCompleted(enter.n) else { return }
        var instance = openBarriers[enter.n] ?? BarrierInstance(n: enter.n)
        instance.enter(rank: info.rank, ts: ts, name: enter.name, site: enter.site, phase: enter.phase ?? info.phase?.name)
        openBarriers[enter.n] = instance
    }

    mutating func applyBarrierExit(_ n: Int, to info: inout RankInfo, ts: Double) {
        leaveEarlierBarriers(than: n, rank: &info)
        info.highestBarrier = max(info.highestBarrier, n)
        leaveBarrier(n, rank: &info, ts: ts)
    }

    /// Records that `info` left barrier `n`; `ts` is nil when the exit is only implied by a later
    /// event of the same rank.
    mutating func leaveBarrier(_ n: Int, rank info: inout RankInfo, ts: Double?) {
        if info.barrier?.n == n {
            if let ts, let since = info.barrier?.since {
                info.recentWaits.append(max(0, ts - since))
                info.waitedSinceProgress += max(0, ts - since)
            }
            info.barrier = nil
            info.updateWaitingStatus()
        }
        if let ts {
            notePhaseBarrierExit(n, rank: &info, ts: ts)
            info.lastActivityTs = max(info.lastActivityTs ?? ts, ts)
        }
        guard !isCompleted(n) else { return }
        var instance = openBarriers[n] ?? BarrierInstance(n: n)
        instance.exit(rank: info.rank, ts: ts)
        if isSettled(instance, current: info) {
            openBarriers[n] = nil
            fold(instance)
        } else {
            openBarriers[n] = instance
        }
    }

    private mutating func leaveEarlierBarriers(than n: Int, rank info: inout RankInfo) {
        guard info.highestBarrier >= 0 || !openBarriers.isEmpty else { return }
        for k in openBarriers.keys where k < n {
            if openBarriers[k]?.exits[info.rank] == nil {
                leaveBarrier(k, rank: &info, ts: nil)
            }
        }
        if let barrier = info.barrier, barrier.n < n { leaveBarrier(barrier.n, rank: &info, ts: nil) }
    }

    /// Whether barrier `n` completed recently; late events for it must not reopen it.
    private func isCompleted(_ n: Int) -> Bool {
        guard openBarriers[n] == nil else { return false }
        return completedBarriers.contains { $0.n == n }
    }

    /// A barrier is open until every rank has left it. Once any rank left (so everyone arrived),
    /// a rank that never reported or has since exited, failed or been lost no longer holds it open:
    /// otherwise one uninstrumented or dead rank would keep every later barrier open forever.
    /// `current` is the rank being updated, which is out of `rankSlots` meanwhile.
    func isSettled(_ instance: BarrierInstance, current: RankInfo?) -> Bool {
        if instance.exits.count >= world { return true }
        guard instance.everyoneArrived else { return false }
        // Cheap necessary condition first: exits plus every rank that could be settled.
        let unsettledAtMost = world - instance.exits.count
        guard unsettledAtMost <= (world - heardRanks) + terminalRanks + 1 else { return false }
        for r in 0..<world where instance.exits[r] == nil {
            if r == current?.rank {
                if current?.status.isTerminal == false { return false }
            } else if let other = rank(r), !other.status.isTerminal {
                return false
            }
        }
        return true
    }

    /// After a rank exits, fails or is lost, barriers everyone else has left may now be done.
    mutating func settleOpenBarriers() {
        for instance in openBarriers.values where instance.everyoneArrived && isSettled(instance, current: nil) {
            openBarriers[instance.n] = nil
            fold(instance)
        }
    }

    private mutating func fold(_ instance: BarrierInstance) {
        let knownEntries = instance.arrivals.values.compactMap { $0 }.count
        var waitCaused = 0.0
        var straggler: Int?
        if knownEntries > 1, let first = instance.firstEnter, let last = instance.lastEnter, let lastRank = instance.lastRank {
            waitCaused = max(0, last - first)
            straggler = lastRank
            // Inside a main-first phase the main rank arrives last by design: that wait is the
            // phase's work, not a straggler's fault.
            if instance.phase == nil, waitCaused > 0 {
                var stats = stragglerStats[lastRank] ?? StragglerStats(rank: lastRank)
                stats.waitCaused += waitCaused
                stats.timesLast += 1
                stragglerStats[lastRank] = stats
            }
        }
        completedBarriers.append(BarrierSummary(
            n: instance.n, name: instance.name, site: instance.site,
            firstEnter: instance.firstEnter, lastEnter: instance.lastEnter,
            completedAt: instance.exits.values.max(), straggler: straggler, waitCaused: waitCaused,
            mismatched: instance.hasMismatch
        ))
        completedBarrierCount += 1
        if let mismatch = instance.mismatch, foldedMismatches.count < limits.mismatches {
            foldedMismatches[instance.n] = mismatch
        }
    }
}

extension BarrierInstance {
    mutating func forget(rank: Int) {
        arrivals[rank] = nil
        exits[rank] = nil
        if let name = namesByRank.removeValue(forKey: rank) { dropName(name) }
    }
}
