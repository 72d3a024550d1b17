import DequeModule

/// The (run, rank, process, episode) automatic capture has already asked, so each is asked
/// once; a restarted rank is a new process, whose barriers count from 0 again. Bounded:
/// past `capacity` the oldest are forgotten (a week-long run opens many barriers), which at worst
/// asks a rank again about an episode long over.
struct StackCaptureBook: Sendable {
    struct Key: Hashable, Sendable {
        var run: String
        var rank: Int
        var pid: Int
        var episode: String
    }

    static let defaultCapacity = 1 << 16

    let capacity: Int
    private var keys: Set<Key> = []
    private var order: Deque<Key> = []

    init(capacity: Int = StackCaptureBook.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    var count: Int { keys.count }

    func contains(_ key: Key) -> Bool { keys.contains(key) }

    /// Notes `key`; false when it was noted already.
    mutating func insert(_ key: Key) -> Bool {
        guard keys.insert(key).inserted else { return false }
        order.append(key)
        if order.count > capacity, let oldest = order.popFirst() { keys.remove(oldest) }
        return true
    }
}
