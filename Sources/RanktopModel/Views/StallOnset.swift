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
        stallOnset(
            status: info.status, stepped: info.lastProgressTs != nil, inCollective: !info.collectives.isEmpty,
            activity: info.lastActivityTs ?? info.firstTs, typicalStep: info.typicalStepTime, awaited: awaited
        )
    }

    /// The rule itself, on the fields it reads (a caller that follows every event reads them in
    /// place rather than copying a whole `RankInfo`).
    func stallOnset(status: RankStatus, stepped: Bool, inCollective: Bool, activity: Double, typicalStep: Double?, awaited: Bool) -> Double? {
        guard !status.isTerminal else { return nil }
        guard stepped || status == .waiting || inCollective || awaited else { return nil }
        return activity + threshold(typicalStep: typicalStep)
    }
}

extension RunModel {
    /// `policy.stallOnset(of:awaited:)` for rank `r`, read where the rank's state lies.
    public func stallOnset(ofRank r: Int, policy: StallPolicy, awaited: Bool) -> Double? {
        guard r >= 0, r < rankSlots.count, let status = rankSlots[r]?.status, let firstTs = rankSlots[r]?.firstTs else { return nil }
        return policy.stallOnset(
            status: status, stepped: rankSlots[r]?.lastProgressTs != nil, inCollective: !(rankSlots[r]?.collectives.isEmpty ?? true),
            activity: rankSlots[r]?.lastActivityTs ?? firstTs, typicalStep: rankSlots[r]?.typicalStepTime, awaited: awaited
        )
    }

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
