import DequeModule

/// The most recent `capacity` values, oldest first. Keeps per-rank history (waits, step times,
/// events) from growing over a week-long run.
public struct BoundedHistory<Element: Sendable>: Sendable, RandomAccessCollection {
    public private(set) var capacity: Int
    private var items: Deque<Element> = []

    public init(capacity: Int) {
        self.capacity = Swift.max(0, capacity)
    }

    public mutating func append(_ element: Element) {
        guard capacity > 0 else { return }
        if items.count == capacity { items.removeFirst() }
        items.append(element)
    }

    public mutating func removeAll() { items.removeAll() }

    public var startIndex: Int { 0 }
    public var endIndex: Int { items.count }
    public subscript(position: Int) -> Element { items[position] }
}

/// The values of a bounded window kept in ascending order: each new value is inserted and the one
/// the window evicted removed, by binary search, so its median is read without sorting (and
/// without allocating, once the storage is at capacity). For values that are not NaN.
struct SortedWindow: Sendable {
    private(set) var values: [Double] = []

    /// Adds `value`; removes one value equal to `evicted` first, when the window dropped one.
    mutating func insert(_ value: Double, evicting evicted: Double?) {
        guard let evicted else {
            values.insert(value, at: SortedWindow.firstIndex(notBelow: value, in: values))
            return
        }
        let replaced = values.withUnsafeMutableBufferPointer { v -> Bool in
            let gone = SortedWindow.firstIndex(notBelow: evicted, in: UnsafeBufferPointer(v))
            guard gone < v.count, v[gone] == evicted, let p = v.baseAddress else { return false }
            // One shift of the values between the evicted one's place and the new one's.
            var i = gone
            if i + 1 < v.count, p[i + 1] < value {
                while i + 1 < v.count, p[i + 1] < value { p[i] = p[i + 1]; i += 1 }
            } else {
                while i > 0, p[i - 1] >= value { p[i] = p[i - 1]; i -= 1 }
            }
            p[i] = value
            return true
        }
        if !replaced { values.insert(value, at: SortedWindow.firstIndex(notBelow: value, in: values)) }
    }

    /// What `StallPolicy.typicalStep` returns for the same values: the element at `count / 2` of
    /// the ascending order, nil below three values.
    var median: Double? { values.count >= 3 ? values[values.count / 2] : nil }

    /// The index of the first value not below `value`: in ascending order, how many are below
    /// it. Counted without a branch (a window is a few dozen values): a binary search's
    /// comparisons are a coin toss for the branch predictor, and mispredicting them cost more
    /// than comparing every value.
    private static func firstIndex<C: RandomAccessCollection<Double>>(notBelow value: Double, in values: C) -> Int where C.Index == Int {
        var below = 0
        // The comparison's 0 or 1 added as a number: `? 1 : 0` became a branch.
        for v in values { below &+= Int(unsafeBitCast(v < value, to: UInt8.self)) }
        return below
    }
}
