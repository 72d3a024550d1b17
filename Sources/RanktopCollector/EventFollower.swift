import RanktopProtocol

/// Turns a byte stream of JSON Lines (the log, or a viewer connection) into events, one chunk at
/// a time, for `AsyncStream(unfolding:)`: the consumer pulls, so nothing queues up in memory.
actor EventFollower {
    private let nextChunk: @Sendable () async -> [UInt8]?
    private let onEnd: @Sendable () -> Void
    private var decoder = EventStreamDecoder()
    private var batch: [Event] = []
    private var index = 0
    private var ended = false

    init(nextChunk: @escaping @Sendable () async -> [UInt8]?, onEnd: @escaping @Sendable () -> Void = {}) {
        self.nextChunk = nextChunk
        self.onEnd = onEnd
    }

    func next() async -> Event? {
        while index >= batch.count {
            guard !ended else { return nil }
            batch.removeAll(keepingCapacity: true)
            index = 0
            guard let chunk = await nextChunk() else {
                decoder.finish()
                ended = true
                onEnd()
                return nil
            }
            chunk.withUnsafeBufferPointer { bytes in
                decoder.feed(bytes) { batch.append($0) }
            }
        }
        defer { index += 1 }
        return batch[index]
    }

    nonisolated func stream() -> AsyncStream<Event> {
        AsyncStream(unfolding: { await self.next() }, onCancel: { [onEnd] in onEnd() })
    }
}
