import RanktopProtocol

extension RunModel {
    mutating func applyTriggerSet(_ set: TriggerSet, to info: inout RankInfo, ts: Double) {
        let cause = TriggerCause(rank: info.rank, source: set.source, reason: set.reason, id: set.id, ts: ts)
        // A set belongs to the rank's next check, whichever order the ranks' events arrive in.
        let check = info.lastCheck.saturatingAdd(1)
        if let index = firingIndex[check] {
            if firings[index].causes.count < 64 { firings[index].causes.append(cause) }
        } else if pendingCauses[check, default: []].count < 256 {
            pendingCauses[check, default: []].append(cause)
            if pendingCauses.count > 256, let oldest = pendingCauses.keys.min() { pendingCauses[oldest] = nil }
        }
        if set.source == .manual, let id = set.id {
            if let i = injections.firstIndex(where: { $0.id == id }) {
                if injections[i].appliedAt == nil { injections[i].appliedAt = ts }
            } else {
                injections.append(PendingInjection(id: id, reason: set.reason, by: nil, ts: ts, appliedAt: ts))
            }
        }
    }

    /// A check's effect on its rank's own state (all of it, for a check that did not fire).
    static func applyUnfiredCheck(_ n: Int, to info: inout RankInfo) {
        info.lastCheck = max(info.lastCheck, n)
    }

    mutating func applyTriggerCheck(_ n: Int, fired: Bool, to info: inout RankInfo, ts: Double) {
        RunModel.applyUnfiredCheck(n, to: &info)
        guard fired else {
            // Sets for a check that did not fire can only come from a log that lost events.
            if !pendingCauses.isEmpty { pendingCauses[n] = nil }
            return
        }
        if firingIndex[n] == nil {
            firings.append(TriggerFiring(check: n, ts: ts, step: info.step, causes: pendingCauses.removeValue(forKey: n) ?? []))
            firingIndex[n] = firings.count - 1
            if firings.count > limits.firings { foldOldFirings() }
        }
        if let i = firingIndex[n] {
            firings[i].ranksFired += 1
            firings[i].ts = min(firings[i].ts, ts)
        }
    }

    private mutating func foldOldFirings() {
        let drop = firings.count - limits.firings
        firings.removeFirst(drop)
        firingsFolded += drop
        firingIndex = [:]
        for (i, firing) in firings.enumerated() { firingIndex[firing.check] = i }
    }
}
