import RanktopProtocol

extension StallPolicy {
    /// The moment after which `info`'s rank counts as stalled if nothing about it changes: the
    /// rule `RunSnapshot` applies to each alive rank (stalled when `now - activity > threshold`)
    /// solved for `now`. nil when the rank cannot be stalled as it stands: it ended, or it has not
    /// stepped yet and neither waits (a barrier, a collective) nor is waited for (`awaited`).
    ///
    /// For whoever follows a log event by event (the Chrome trace) and needs the stall's onset
    /// rather than a yes or no at one moment; `RunSnapshot.stalled` at any `now` is exactly the
    /// ranks whose onset is before `now`.
    public func stallOnset(of info: RankInfo, awaited: Bool) -> Double? {
        guard !info.status.isTerminal else { return nil }
        let judged = info.lastProgressTs != nil || info.status == .waiting || !info.collectives.isEmpty || awaited
        guard judged else { return nil }
        return (info.lastActivityTs ?? info.firstTs) + threshold(typicalStep: info.typicalStepTime)
    }
}

extension RunModel {
    /// Since when others have waited for `rank`: the earliest open barrier, or open collective of
    /// a group it belongs to, that it has not arrived in; nil when nobody waits for it. The same
    /// open waits `RunSnapshot` counts as held up by a rank. O(open waits x world): for the
    /// ranks no other rule judges (before their first step), not for every event.
    public func awaitedSince(rank: Int) -> Double? {
        var since: Double?
        for barrier in openBarriers.values where barrier.missingRankSet(world: world).contains(rank: rank) {
            let ts = barrier.since ?? lastTs ?? 0
            since = min(since ?? ts, ts)
        }
        for group in collectiveGroups.values {
            for instance in group.open.values where group.missing(instance, world: world)?.contains(rank: rank) == true {
                let ts = instance.since ?? lastTs ?? 0
                since = min(since ?? ts, ts)
            }
        }
        return since
    }
}
