/// A set of ranks held as sorted, disjoint ranges: "ranks 1-1048575 never reported" costs one
/// range, not a million integers. A log may announce any world up to 2^20, so whatever is sized
/// by the world (silent ranks, the missing of a barrier) is held this way, and memory follows
/// the ranks actually seen.
public struct RankSet: RandomAccessCollection, Equatable, Hashable, Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public private(set) var ranges: [ClosedRange<Int>] = []
    /// Ranks before each range, for indexing.
    private var offsets: [Int] = []
    public private(set) var count = 0

    public init() {}

    /// From ranks in any order, duplicates allowed.
    public init<S: Sequence>(_ ranks: S) where S.Element == Int {
        // Most callers hand ranks in ascending order (filtered indices, sorted keys): taken as
        // they come, repeats merged by `appendAscending`. A `Set` and a sort of every member of
        // a 4096-rank group, for each open wait on every frame, were a third of an idle
        // dashboard's redraw (and the standard sort, even of sorted input, a seventh).
        let given = Array(ranks)
        let ascending = zip(given, given.dropFirst()).allSatisfy { $0 <= $1 }
        for rank in ascending ? given : given.sorted() { appendAscending(rank...rank) }
    }

    public init(arrayLiteral ranks: Int...) {
        self.init(ranks)
    }

    /// Ranks of `0..<world` that are not in `present` (sorted, without duplicates).
    public static func complement(of present: [Int], in world: Int) -> RankSet {
        var set = RankSet()
        var next = 0
        for rank in present where rank >= next && rank < world {
            if rank > next { set.appendAscending(next...(rank - 1)) }
            next = rank + 1
        }
        if next < world { set.appendAscending(next...(world - 1)) }
        return set
    }

    /// Adds ranks above every rank already held.
    public mutating func appendAscending(_ range: ClosedRange<Int>) {
        if let last = ranges.last, range.lowerBound <= last.upperBound + 1 {
            let merged = last.lowerBound...Swift.max(last.upperBound, range.upperBound)
            count += merged.count - last.count
            ranges[ranges.count - 1] = merged
            return
        }
        offsets.append(count)
        ranges.append(range)
        count += range.count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> Int {
        precondition(position >= 0 && position < count, "RankSet index out of range")
        var low = 0, high = ranges.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if offsets[mid] <= position { low = mid } else { high = mid - 1 }
        }
        return ranges[low].lowerBound + (position - offsets[low])
    }

    public func contains(rank: Int) -> Bool {
        var low = 0, high = ranges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if ranges[mid].contains(rank) { return true }
            if rank < ranges[mid].lowerBound { high = mid - 1 } else { low = mid + 1 }
        }
        return false
    }

    public static func == (a: RankSet, b: RankSet) -> Bool { a.ranges == b.ranges }

    public func hash(into hasher: inout Hasher) { hasher.combine(ranges) }

    /// `0-3, 7, 9-12`, with at most `limit` ranges and the count after them.
    public func text(limit: Int = .max) -> String {
        let parts = ranges.prefix(limit).map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
        if ranges.count > limit { return parts.joined(separator: ", ") + ", ... (\(count) ranks)" }
        return parts.joined(separator: ", ")
    }

    public var description: String { text() }
}
