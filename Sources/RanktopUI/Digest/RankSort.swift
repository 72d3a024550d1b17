import RanktopModel

/// The orders `s` cycles through in the ranks table.
public enum RankSort: String, CaseIterable, Sendable {
    /// By rank number.
    case rank
    /// Furthest behind the leader first.
    case lag
    /// Longest wait in a barrier first.
    case wait
    /// Most urgent state first: failed, lost, stale, silent, waiting, running, exited.
    case state
    /// Slowest typical step first (the straggler score).
    case slow

    public var next: RankSort {
        let all = RankSort.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    /// The visible ranks (matching `filter`) in this order.
    /// `reversed`: the other way round, ties still in rank order.
    /// `scores`: the frame's straggler scores, when it has them (the `slow` sort needs them).
    public func order(model: RunModel, digest: RunSnapshot, filter: RankFilter, reversed: Bool = false, scores: (() -> [StragglerScore])? = nil) -> [Int] {
        var ranks: [Int] = []
        ranks.reserveCapacity(digest.world)
        // The world can be wider than the slots: ranks never heard from (silent) have none.
        for r in 0..<digest.world where filter.isEmpty || filter.matches(rank: r, node: model.rank(r)?.node, condition: digest.condition(of: r)) {
            ranks.append(r)
        }
        switch self {
        case .rank:
            return reversed ? ranks.reversed() : ranks
        case .lag:
            let lags = ranks.map { digest.lag(of: $0) ?? -1 }
            return sorted(ranks, by: lags, descending: !reversed)
        case .wait:
            let slots = model.rankSlots
            let waits = ranks.map { r in (r < slots.count ? slots[r]?.barrier?.since : nil).map { digest.now - $0 } ?? -1 }
            return sorted(ranks, by: waits, descending: !reversed)
        case .state:
            let urgencies = ranks.map { digest.condition(of: $0).urgency }
            return sorted(ranks, by: urgencies, descending: reversed)
        case .slow:
            let slowness = RanksTablePanel.slowness(scores?() ?? digest.scores)
            return sorted(ranks, by: ranks.map { slowness[$0] ?? -.infinity }, descending: !reversed)
        }
    }

    /// Stable: ties stay in rank order.
    private func sorted<K: Comparable>(_ ranks: [Int], by keys: [K], descending: Bool) -> [Int] {
        let indices = ranks.indices.sorted { a, b in
            if keys[a] != keys[b] { return descending ? keys[a] > keys[b] : keys[a] < keys[b] }
            return ranks[a] < ranks[b]
        }
        return indices.map { ranks[$0] }
    }
}
