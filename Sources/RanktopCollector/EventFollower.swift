import RanktopProtocol

/// Turns a byte stream of JSON Lines (a viewer connection) into batches of events, a chunk at a
/// time, for `AsyncStream(unfolding:)`: the consumer pulls, so nothing queues up in memory, and
/// pays one hop into this actor per chunk, not per event.
actor EventFollower {
    private let nextChunk: @Sendable () async -> [UInt8]?
    private let onEnd: @Sendable () -> Void
    private var decoder = EventStreamDecoder()
    private var ended = false

    init(nextChunk: @escaping @Sendable () async -> [UInt8]?, onEnd: @escaping @Sendable () -> Void = {}) {
        self.nextChunk = nextChunk
        self.onEnd = onEnd
    }

    /// The events of the next chunk that holds any; nil at the end.
    func next() async -> [Event]? {
        while !ended {
            guard let chunk = await nextChunk() else {
                decoder.finish()
                ended = true
                onEnd()
                return nil
            }
            var batch: [Event] = []
            chunk.withUnsafeBufferPointer { bytes in
                decoder.feed(bytes) { batch.append($0) }
            }
            if !batch.isEmpty { return batch }
        }
        return nil
    }

    nonisolated func stream() -> AsyncStream<[Event]> {
        AsyncStream(unfolding: { await self.next() }, onCancel: { [onEnd] in onEnd() })
    }
}
