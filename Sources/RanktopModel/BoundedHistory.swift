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
        let count = values.count
        let at = firstIndex(notBelow: value)
        guard let evicted else {
            values.insert(value, at: at)
            return
        }
        let gone = firstIndex(notBelow: evicted)
        guard gone < count, values[gone] == evicted else {
            values.insert(value, at: at)
            return
        }
        // One shift of the values between the two places, in place.
        values.withUnsafeMutableBufferPointer { v in
            if gone < at {
                var i = gone
                while i < at - 1 { v[i] = v[i + 1]; i += 1 }
                v[at - 1] = value
            } else {
                var i = gone
                while i > at { v[i] = v[i - 1]; i -= 1 }
                v[at] = value
            }
        }
    }

    /// What `StallPolicy.typicalStep` returns for the same values: the element at `count / 2` of
    /// the ascending order, nil below three values.
    var median: Double? { values.count >= 3 ? values[values.count / 2] : nil }

    private func firstIndex(notBelow value: Double) -> Int {
        var low = 0
        var high = values.count
        while low < high {
            let mid = (low + high) >> 1
            if values[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
