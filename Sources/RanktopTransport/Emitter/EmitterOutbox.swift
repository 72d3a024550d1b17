import RanktopProtocol

/// The emitter's bounded outbox: encoded lines waiting for the writer thread, and the rank's `seq`
/// counter. Producers append under the emitter's lock (encoding in place, so the line's `seq` and
/// its position in the stream always agree); the writer swaps the whole buffer out in O(1).
///
/// When full, the OLDEST half is dropped: after an outage the newest lines say most about where the
/// rank is now. Every dropped event still consumed a `seq`, so the collector sees the gap.
struct EmitterOutbox: Sendable {
    let capacityBytes: Int
    private(set) var bytes: [UInt8]
    private(set) var nextSeq = 0
    private(set) var produced = 0
    private(set) var droppedTotal = 0
    /// Drops not yet announced to the collector.
    private(set) var droppedUnreported = 0
    /// The writer is parked in poll and needs a wakeup for the next line.
    var writerParked = false
    /// When set, the writer flushes what it can until this monotonic deadline, then stops.
    var stopDeadline: Double?
    var connected = false
    var connections = 0

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
        bytes = []
        bytes.reserveCapacity(capacityBytes + EventDecoder.maxLineBytes + 1024)
    }

    /// Gives `event` the next `seq`; returns it without queueing (for `hello`, which the writer
    /// keeps and sends first on every connection).
    mutating func stampWithoutQueueing(_ event: inout Event) {
        event.seq = nextSeq
        nextSeq += 1
        produced += 1
    }

    /// Encodes and queues `event`; returns true when the writer must be woken.
    mutating func append(_ event: inout Event) -> Bool {
        stampWithoutQueueing(&event)
        let mark = bytes.count
        EventEncoder.encode(event, into: &bytes)
        if bytes.count - mark - 1 > EventDecoder.maxLineBytes {
            // The collector would reject it whole; better to say it was dropped.
            bytes.removeSubrange(mark...)
            countDropped(1)
            return false
        }
        if bytes.count > capacityBytes { dropOldest() }
        guard writerParked else { return false }
        writerParked = false
        return true
    }

    /// Moves every queued line into `other` (which must be empty); parks the writer when there
    /// was nothing. Returns the drops to announce.
    mutating func take(into other: inout [UInt8]) -> Int {
        swap(&bytes, &other)
        writerParked = other.isEmpty
        let unreported = droppedUnreported
        droppedUnreported = 0
        return unreported
    }

    var isEmpty: Bool { bytes.isEmpty }

    mutating func countDropped(_ count: Int) {
        droppedTotal += count
        droppedUnreported += count
    }

    /// Keeps the newest lines that fit in half the capacity.
    private mutating func dropOldest() {
        let keep = capacityBytes / 2
        var cut = bytes.count - keep
        // Lines hold no raw newline (JSON escapes it), so the next `\n` ends a whole line.
        while cut < bytes.count, bytes[cut - 1] != 0x0A { cut += 1 }
        var lines = 0
        for byte in bytes[..<cut] where byte == 0x0A { lines += 1 }
        bytes.removeFirst(cut)
        countDropped(lines)
    }
}
