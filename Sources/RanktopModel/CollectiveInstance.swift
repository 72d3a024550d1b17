import RanktopProtocol

/// Names one collective of a run: the n-th of its group on every member.
public struct CollectiveKey: Sendable, Hashable, Comparable {
    public var group: String
    public var n: Int

    public init(group: String, n: Int) {
        self.group = group
        self.n = n
    }

    public static func < (a: CollectiveKey, b: CollectiveKey) -> Bool {
        a.group != b.group ? a.group < b.group : a.n < b.n
    }
}

/// One open collective: who entered it, who is still inside, what op each member called.
public struct CollectiveInstance: Sendable {
    public let key: CollectiveKey
    /// Entry time by rank; nil when the rank is known to have passed it without its enter being seen.
    public internal(set) var arrivals: [Int: Double?] = [:]
    /// Ranks that entered and have not left (nor ended): while any is, the collective is open.
    public internal(set) var inside: Set<Int> = []
    /// Op by rank, and how many ranks called each op and gave each group size: two of either make
    /// a mismatch, seen without walking every rank.
    public internal(set) var opsByRank: [Int: String] = [:]
    var opCounts: [String: Int] = [:]
    var sizeCounts: [Int: Int] = [:]
    var sizesByRank: [Int: Int] = [:]
    public internal(set) var label: String?
    public internal(set) var site: String?
    public internal(set) var bytes: Int?
    public internal(set) var dtype: String?
    /// Issued with `async_op=True` by the first rank seen: it blocks only inside `wait()`.
    public internal(set) var isAsync = false
    public internal(set) var firstEnter: Double?
    public internal(set) var lastEnter: Double?
    public internal(set) var lastRank: Int?
    public internal(set) var firstExit: Double?

    init(key: CollectiveKey) { self.key = key }

    /// The op most ranks called (the alphabetically first on a tie).
    public var op: String {
        opCounts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? "?"
    }

    public var since: Double? { firstEnter ?? firstExit }

    public var arrivedRanks: [Int] { arrivals.keys.sorted() }

    public var hasMismatch: Bool { opCounts.count > 1 || sizeCounts.count > 1 }

    /// Op (with the size where sizes disagree) -> the ranks that called it, when they disagree.
    public var mismatch: [String: [Int]]? {
        guard hasMismatch else { return nil }
        var byOp: [String: [Int]] = [:]
        for (rank, op) in opsByRank {
            let name = sizeCounts.count > 1 ? "\(op) (size \(sizesByRank[rank].map(String.init) ?? "?"))" : op
            byOp[name, default: []].append(rank)
        }
        return byOp.mapValues { $0.sorted() }
    }

    mutating func enter(rank: Int, ts: Double, _ enter: CollectiveEnter) {
        if arrivals[rank] == nil || arrivals[rank]! == nil { arrivals[rank] = .some(ts) }
        inside.insert(rank)
        if opsByRank[rank] != enter.op {
            if let previous = opsByRank[rank] { Self.drop(previous, from: &opCounts) }
            opsByRank[rank] = enter.op
            opCounts[enter.op, default: 0] += 1
        }
        if let size = enter.size, sizesByRank[rank] != size {
            if let previous = sizesByRank[rank] { Self.drop(previous, from: &sizeCounts) }
            sizesByRank[rank] = size
            sizeCounts[size, default: 0] += 1
        }
        if label == nil { label = enter.label }
        if site == nil { site = enter.site }
        if bytes == nil { bytes = enter.bytes }
        if dtype == nil { dtype = enter.dtype }
        if firstEnter == nil { isAsync = enter.isAsync ?? false }
        if firstEnter.map({ ts < $0 }) ?? true { firstEnter = ts }
        if lastEnter.map({ ts >= $0 }) ?? true {
            lastEnter = ts
            lastRank = rank
        }
    }

    /// `ts` nil: implied by a later event of the rank, or the rank ended.
    mutating func leave(rank: Int, ts: Double?) {
        if arrivals[rank] == nil { arrivals[rank] = .some(nil) }
        inside.remove(rank)
        if let ts, firstExit.map({ ts < $0 }) ?? true { firstExit = ts }
    }

    mutating func forget(rank: Int) {
        arrivals[rank] = nil
        inside.remove(rank)
        if let op = opsByRank.removeValue(forKey: rank) { Self.drop(op, from: &opCounts) }
        if let size = sizesByRank.removeValue(forKey: rank) { Self.drop(size, from: &sizeCounts) }
    }

    private static func drop<K: Hashable>(_ key: K, from counts: inout [K: Int]) {
        let left = (counts[key] ?? 1) - 1
        counts[key] = left > 0 ? left : nil
    }
}

/// The collectives of one process group: its members, the open instances, and what completed
/// ones folded into.
public struct CollectiveGroup: Sendable {
    public let name: String
    /// The group's size, as its members gave it.
    public internal(set) var size: Int?
    /// Global ranks of the group, sorted; nil for `world` (every rank) or when no member sent them.
    public internal(set) var members: [Int]?
    public internal(set) var open: [Int: CollectiveInstance] = [:]
    public internal(set) var completed = 0
    /// The highest ordinal each rank entered or left: a rank past n has been through n, even when
    /// its events for n were lost.
    var highest: [Int: Int] = [:]
    /// Ordinals completed recently (oldest first in `completedOrder`): a late event for one of
    /// them never reopens it.
    var recentlyCompleted: Set<Int> = []
    var completedOrder: [Int] = []

    init(name: String) { self.name = name }

    public static let world = "world"

    /// How many ranks take part, when known.
    public func memberCount(world: Int) -> Int? {
        if let members { return members.count }
        if name == CollectiveGroup.world { return world }
        return size
    }

    /// Members that have not reached instance n: not arrived, and not seen past it. Nil when the
    /// group's members are unknown by number.
    public func missing(_ instance: CollectiveInstance, world: Int) -> RankSet? {
        let n = instance.key.n
        let reached = { (rank: Int) -> Bool in instance.arrivals[rank] != nil || (self.highest[rank] ?? -1) > n }
        if let members {
            return RankSet(members.filter { !reached($0) })
        }
        guard name == CollectiveGroup.world else { return nil }
        var arrived = Array(instance.arrivals.keys)
        for (rank, top) in highest where top > n && instance.arrivals[rank] == nil { arrived.append(rank) }
        return RankSet.complement(of: arrived.filter { $0 < world }.sorted(), in: world)
    }
}

/// A rank's part in one open collective, for its row in the ranks table.
public struct RankCollective: Sendable, Equatable {
    public var group: String
    public var n: Int
    public var op: String
    public var label: String?
    public var site: String?
    public var since: Double
    public var isAsync: Bool
}

/// How long a rank spent inside blocking collectives that completed.
public struct CollectiveWaitStats: Sendable, Equatable {
    public var count = 0
    public var total = 0.0
    public var longest = 0.0
}
