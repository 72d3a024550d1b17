import RanktopProtocol

extension RunModel {
    /// Far beyond the groups real jobs make (FSDP's shards, pipeline stages), small enough that a
    /// hostile stream of group names cannot grow the model without end.
    static let maxCollectiveGroups = 4096
    /// Open collectives kept per group and per rank: async ops in flight are tens (DDP's buckets);
    /// past these the oldest are forgotten.
    static let maxOpenCollectivesPerGroup = 1024
    static let maxOpenCollectivesPerRank = 256
    /// Completed ordinals remembered per group, so that a late enter never reopens one.
    static let recentlyCompletedCollectives = 256

    mutating func applyCollectiveEnter(_ enter: CollectiveEnter, to info: inout RankInfo, ts: Double) {
        guard var group = takeGroup(enter.group) else { return }
        if group.size == nil { group.size = enter.size }
        if group.members == nil, enter.group != CollectiveGroup.world, let members = enter.members, !members.isEmpty {
            group.members = Array(Set(members)).sorted()
        }
        let key = CollectiveKey(group: enter.group, n: enter.n)
        // One thread is in one blocking call at a time: issuing n means the blocking ones before
        // it returned, even where their exits were lost.
        leaveEarlierBlocking(than: key, group: &group, rank: &info)
        group.highest[info.rank] = max(group.highest[info.rank] ?? -1, enter.n)
        info.collectives[key] = RankCollective(
            group: enter.group, n: enter.n, op: enter.op, label: enter.label, site: enter.site, since: ts,
            isAsync: enter.isAsync ?? false
        )
        if info.collectives.count > RunModel.maxOpenCollectivesPerRank, let oldest = info.collectives.keys.min(by: { $0.n < $1.n }) {
            info.collectives[oldest] = nil
        }
        info.updateWaitingStatus()
        // A late enter (the rank's events were delayed behind the others') must not reopen a
        // collective that already completed; the rank's own state above still follows it.
        if !group.recentlyCompleted.contains(enter.n) {
            var instance = group.open[enter.n] ?? CollectiveInstance(key: key)
            instance.enter(rank: info.rank, ts: ts, enter)
            group.open[enter.n] = instance
            if group.open.count > RunModel.maxOpenCollectivesPerGroup, let oldest = group.open.keys.min() {
                group.open[oldest] = nil
            }
        }
        collectiveGroups[enter.group] = group
    }

    mutating func applyCollectiveExit(_ exit: CollectiveExit, to info: inout RankInfo, ts: Double) {
        guard var group = takeGroup(exit.group) else { return }
        let key = CollectiveKey(group: exit.group, n: exit.n)
        leaveEarlierBlocking(than: key, group: &group, rank: &info)
        group.highest[info.rank] = max(group.highest[info.rank] ?? -1, exit.n)
        leave(key, group: &group, rank: &info, ts: ts)
        info.lastActivityTs = max(info.lastActivityTs ?? ts, ts)
        info.updateWaitingStatus()
        collectiveGroups[exit.group] = group
    }

    /// Progress comes from the training thread after the step's collectives were waited for:
    /// whatever the rank was in has ended, even if its exits were lost.
    mutating func leaveEveryCollective(rank info: inout RankInfo) {
        guard !info.collectives.isEmpty else { return }
        for key in info.collectives.keys.sorted() {
            guard var group = collectiveGroups[key.group] else { continue }
            leave(key, group: &group, rank: &info, ts: nil)
            collectiveGroups[key.group] = group
        }
        info.collectives.removeAll()
    }

    /// A rank that exited, failed or was lost is inside nothing: the collectives only it held open
    /// are done (those with other members still inside stay open: they are the hang).
    mutating func settleCollectives(afterEnd rank: Int) {
        for name in Array(collectiveGroups.keys) {
            guard var group = collectiveGroups[name] else { continue }
            var changed = false
            for (n, var instance) in group.open where instance.inside.contains(rank) {
                instance.leave(rank: rank, ts: nil)
                changed = true
                if instance.inside.isEmpty {
                    group.open[n] = nil
                    fold(instance, into: &group)
                } else {
                    group.open[n] = instance
                }
            }
            if changed { collectiveGroups[name] = group }
        }
        // Where a rank that died was is what its post-mortem needs most.
        let current = rankSlots[rank]?.currentCollective
        rankSlots[rank]?.collectiveAtEnd = current
        rankSlots[rank]?.collectives.removeAll()
    }

    /// A restarted rank's ordinals start over: it is in none of its old collectives.
    mutating func forgetCollectives(of info: inout RankInfo) {
        info.collectives.removeAll()
        for name in Array(collectiveGroups.keys) {
            guard var group = collectiveGroups[name] else { continue }
            group.highest[info.rank] = nil
            for n in Array(group.open.keys) {
                group.open[n]?.forget(rank: info.rank)
                if group.open[n]?.arrivals.isEmpty == true { group.open[n] = nil }
            }
            collectiveGroups[name] = group
        }
    }

    private mutating func takeGroup(_ name: String) -> CollectiveGroup? {
        if let group = collectiveGroups[name] { return group }
        guard collectiveGroups.count < RunModel.maxCollectiveGroups else { return nil }
        return CollectiveGroup(name: name)
    }

    private mutating func leaveEarlierBlocking(than key: CollectiveKey, group: inout CollectiveGroup, rank info: inout RankInfo) {
        let earlier = info.collectives.filter { $0.key.group == key.group && $0.key.n < key.n && !$0.value.isAsync }
        for stale in earlier.keys.sorted() { leave(stale, group: &group, rank: &info, ts: nil) }
    }

    /// `ts` nil: the exit is only implied by a later event of the same rank.
    private mutating func leave(_ key: CollectiveKey, group: inout CollectiveGroup, rank info: inout RankInfo, ts: Double?) {
        if let mine = info.collectives.removeValue(forKey: key), let ts, !mine.isAsync {
            let wait = max(0, ts - mine.since)
            info.collectiveWaits.count += 1
            info.collectiveWaits.total += wait
            info.collectiveWaits.longest = max(info.collectiveWaits.longest, wait)
            info.waitedSinceProgress += wait
        }
        guard var instance = group.open[key.n] else { return }
        instance.leave(rank: info.rank, ts: ts)
        if instance.inside.isEmpty {
            group.open[key.n] = nil
            fold(instance, into: &group)
        } else {
            group.open[key.n] = instance
        }
    }

    private mutating func fold(_ instance: CollectiveInstance, into group: inout CollectiveGroup) {
        group.completed += 1
        completedCollectiveCount += 1
        group.recentlyCompleted.insert(instance.key.n)
        group.completedOrder.append(instance.key.n)
        if group.completedOrder.count > RunModel.recentlyCompletedCollectives {
            group.recentlyCompleted.remove(group.completedOrder.removeFirst())
        }
        if let mismatch = instance.mismatch, foldedCollectiveMismatches.count < limits.mismatches {
            foldedCollectiveMismatches[instance.key] = mismatch
        }
        let knownEntries = instance.arrivals.values.lazy.compactMap { $0 }.count
        if knownEntries > 1, let first = instance.firstEnter, let last = instance.lastEnter, let lastRank = instance.lastRank, last > first {
            var stats = stragglerStats[lastRank] ?? StragglerStats(rank: lastRank)
            stats.waitCaused += last - first
            stats.timesLast += 1
            stragglerStats[lastRank] = stats
        }
        if limits.seriesPoints > 0, knownEntries > 1, !instance.isAsync, let first = instance.firstEnter, let last = instance.lastEnter {
            completedCollectiveWaits.append(CollectiveWait(key: instance.key, op: instance.op, waitCaused: max(0, last - first)))
        }
    }
}

extension RankInfo {
    /// Waiting while in a barrier or a blocking collective; an async op in flight is not a wait.
    mutating func updateWaitingStatus() {
        guard !status.isTerminal else { return }
        let blocked = barrier != nil || collectives.values.contains { !$0.isAsync }
        status = blocked ? .waiting : .running
    }
}
