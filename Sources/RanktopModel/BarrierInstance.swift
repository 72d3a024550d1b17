import RanktopProtocol

/// One open barrier: the n-th `wait_for_everyone` of every rank.
public struct BarrierInstance: Sendable {
    public let n: Int
    /// Entry time by rank; nil when the rank is known to have arrived but its `barrier.enter`
    /// was never seen (dropped, or implied by a later event).
    public internal(set) var arrivals: [Int: Double?] = [:]
    public internal(set) var exits: [Int: Double] = [:]
    /// Name given by each rank that gave one; two different names make a mismatch.
    public internal(set) var namesByRank: [Int: String] = [:]
    /// How many ranks gave each name, kept as ranks enter so that a mismatch is seen without
    /// walking every rank (4096 of them, on every enter).
    public internal(set) var nameCounts: [String: Int] = [:]
    public internal(set) var site: String?
    public internal(set) var phase: String?
    public internal(set) var firstEnter: Double?
    public internal(set) var lastEnter: Double?
    /// The last rank seen entering: the straggler, once the barrier completes.
    public internal(set) var lastRank: Int?
    /// A `barrier.exit` means everyone arrived, whether or not every enter was seen.
    public internal(set) var everyoneArrived = false
    public internal(set) var firstExit: Double?

    init(n: Int) { self.n = n }

    /// The name most ranks gave (the alphabetically first on a tie).
    public var name: String? {
        nameCounts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    }

    public var hasMismatch: Bool { nameCounts.count > 1 }

    /// Since when the barrier has been open (its first arrival).
    public var since: Double? { firstEnter ?? firstExit }

    public var arrivedRanks: [Int] { arrivals.keys.sorted() }

    public func missingRanks(world: Int) -> [Int] { Array(missingRankSet(world: world)) }

    /// The ranks of the world not arrived, as ranges: sized by the arrivals, not the world.
    public func missingRankSet(world: Int) -> RankSet {
        if everyoneArrived { return [] }
        return RankSet.complement(of: arrivals.keys.sorted(), in: world)
    }

    /// Distinct names with the ranks that gave each, when they disagree.
    public var mismatch: [String: [Int]]? {
        guard hasMismatch else { return nil }
        var byName: [String: [Int]] = [:]
        for (rank, name) in namesByRank { byName[name, default: []].append(rank) }
        guard byName.count > 1 else { return nil }
        return byName.mapValues { $0.sorted() }
    }

    mutating func enter(rank: Int, ts: Double, name: String?, site: String?, phase: String?) {
        if arrivals[rank] == nil || arrivals[rank]! == nil { arrivals[rank] = .some(ts) }
        if let name, !name.isEmpty, namesByRank[rank] != name {
            if let previous = namesByRank[rank] { dropName(previous) }
            namesByRank[rank] = name
            nameCounts[name, default: 0] += 1
        }
        if self.site == nil { self.site = site }
        if self.phase == nil { self.phase = phase }
        if firstEnter.map({ ts < $0 }) ?? true { firstEnter = ts }
        if lastEnter.map({ ts >= $0 }) ?? true {
            lastEnter = ts
            lastRank = rank
        }
    }

    mutating func exit(rank: Int, ts: Double?) {
        if arrivals[rank] == nil { arrivals[rank] = .some(nil) }
        if let ts {
            exits[rank] = ts
            everyoneArrived = true
            if firstExit.map({ ts < $0 }) ?? true { firstExit = ts }
        } else if exits[rank] == nil {
            exits[rank] = firstExit ?? lastEnter ?? 0
        }
    }

    mutating func dropName(_ name: String) {
        let left = (nameCounts[name] ?? 1) - 1
        nameCounts[name] = left > 0 ? left : nil
    }
}

/// A barrier every rank has left, folded to what reports and the dashboard show.
public struct BarrierSummary: Sendable, Equatable {
    public var n: Int
    public var name: String?
    public var site: String?
    public var firstEnter: Double?
    public var lastEnter: Double?
    public var completedAt: Double?
    /// Last rank to enter.
    public var straggler: Int?
    /// From first to last arrival: the time the straggler kept everyone else waiting.
    public var waitCaused: Double
    public var mismatched: Bool
}

/// How often a rank was last to a barrier and the waiting that caused.
public struct StragglerStats: Sendable, Equatable {
    public var rank: Int
    public var waitCaused: Double = 0
    public var timesLast = 0
}
