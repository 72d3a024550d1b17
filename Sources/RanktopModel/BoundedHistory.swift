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
