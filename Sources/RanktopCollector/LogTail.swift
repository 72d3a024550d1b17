import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the collector's log from its first byte (or a line boundary given) and then follows it as it grows, in chunks read
/// into one buffer that is reused: as bytes for a viewer connection, or as decoded batches of
/// events for an in-process viewer. Finishes when the collector has stopped and every byte was read.
public actor LogTail {
    public static let chunkBytes = 256 * 1024
    private let log: CollectorLog
    private var offset = 0
    private var file: LogFileReader
    private var done = false
    /// Allocated on the first read, then reused for every read.
    private var buffer: [UInt8] = []
    private var decoder = EventStreamDecoder()
    /// When the last read reached the end of the log (a live follower, not catching up).
    private var caughtUpAt: ContinuousClock.Instant?
    /// A live follower reads at most this often: ranks commit a few hundred small reads a second,
    /// and waking a viewer for each cost the collector 8% of a core at 1,000 events/s. Well inside
    /// the 150 ms from emit to screen.
    public static let liveReadInterval: Duration = .milliseconds(20)

    init(log: CollectorLog, from offset: Int = 0) {
        self.log = log
        self.offset = offset
        file = LogFileReader(path: log.path)
    }

    /// Hands the next bytes of the log (whole lines or not) to `consume`, waiting for new ones;
    /// nil at the end. The bytes are only valid during the call.
    public func read<Result: Sendable>(_ consume: (UnsafeBufferPointer<UInt8>) -> Result) async -> Result? {
        while !done {
            if let caughtUpAt {
                let due = caughtUpAt + LogTail.liveReadInterval
                if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
            }
            guard let end = await log.waitForData(beyond: offset) else { break }
            if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: LogTail.chunkBytes) }
            let count = min(LogTail.chunkBytes, end - offset)
            let at = offset
            guard let got = buffer.withUnsafeMutableBytes({ file.read(at: at, into: UnsafeMutableRawBufferPointer(rebasing: $0.prefix(count))) }),
                  got > 0 else { break }
            offset += got
            caughtUpAt = offset >= end ? .now : nil
            return buffer.withUnsafeBufferPointer { consume(UnsafeBufferPointer(rebasing: $0.prefix(got))) }
        }
        finish()
        return nil
    }

    /// The events of the next read that holds any; nil at the end of the log.
    public func nextBatch() async -> [Event]? {
        while let batch = await read({ bytes in decodeBatch(bytes) }) {
            if !batch.isEmpty { return batch }
        }
        decoder.finish()
        return nil
    }

    private func decodeBatch(_ bytes: UnsafeBufferPointer<UInt8>) -> [Event] {
        var batch: [Event] = []
        decoder.feed(bytes) { batch.append($0) }
        return batch
    }

    /// Stops following; the next call returns nil.
    public func finish() {
        done = true
        file.closeFile()
    }
}
