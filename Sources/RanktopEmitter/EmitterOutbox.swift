import DequeModule
import RanktopProtocol

/// The emitter's bounded outbox: events waiting for the writer thread, and the rank's `seq`
/// counter. Producers append under the emitter's lock; encoding happens later, on the writer
/// thread, so the caller pays for a timestamp, a lock and an append, nothing more. The writer swaps
/// the whole deque out in O(1).
///
/// When full, the OLDEST event is dropped: after an outage the newest events say most about where
/// the rank is now. Every dropped event still consumed a `seq`, so the collector sees the gap.
struct EmitterOutbox: Sendable {
    let capacity: Int
    private(set) var events: Deque<Event>
    private(set) var nextSeq = 0
    private(set) var produced = 0
    private(set) var droppedTotal = 0
    /// Drops not yet announced to the collector.
    private(set) var droppedUnreported = 0
    /// The writer is parked in poll and needs a wakeup for the next event.
    var writerParked = false
    /// When set, the writer flushes what it can until this monotonic deadline, then stops.
    var stopDeadline: Double?
    var connected = false
    var connections = 0
    var sentThrough = 0
    /// The writer thread has exited (its socket and wakeup pipe are closed).
    var writerFinished = false

    init(capacity: Int) {
        self.capacity = capacity
        events = Deque(minimumCapacity: capacity)
    }

    /// Gives `event` the next `seq` without queueing it (for `hello`, which the writer keeps and
    /// sends first on every connection, and for events dropped outright).
    mutating func stamp(_ event: inout Event) {
        event.seq = nextSeq
        nextSeq += 1
        produced += 1
    }

    /// Queues `event` with the next `seq`; returns true when the writer must be woken.
    mutating func append(_ event: inout Event) -> Bool {
        stamp(&event)
        if events.count >= capacity {
            events.removeFirst()
            countDropped(1)
        }
        events.append(event)
        guard writerParked else { return false }
        writerParked = false
        return true
    }

    /// Moves every queued event into `other` (which must be empty). When there was nothing and
    /// `parkIfEmpty`, the writer parks: the next append wakes it. Returns the drops to announce.
    mutating func take(into other: inout Deque<Event>, parkIfEmpty: Bool) -> Int {
        swap(&events, &other)
        writerParked = other.isEmpty && parkIfEmpty
        let unreported = droppedUnreported
        droppedUnreported = 0
        return unreported
    }

    var isEmpty: Bool { events.isEmpty }

    mutating func countDropped(_ count: Int) {
        droppedTotal += count
        droppedUnreported += count
    }
}
