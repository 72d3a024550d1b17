import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RanktopModel
import RanktopProtocol

/// The run model folded from the log by a follower of its own, off the ingest path: a `serve`
/// that captures stacks needs the model once a second, and folding it under the log's lock on
/// every read cut a debug build's ingest to a third (2 flooding ranks, 5 s: 17.6 MB logged
/// without the model, 5.5 MB with it inline). The follower reads the log as a viewer does, but at most
/// every `readInterval`, so the model is that far behind, which a once-a-second policy does not
/// notice.
///
/// It reads on a thread of its own (an event loop of one thread), not in a task: with the
/// cooperative pool's threads busy (a process that blocks them, as a loaded test run did), a
/// task-based follower fell 27 s behind the log, and stack capture asked that late. Nor on the
/// connections' loops: folding a flood there slowed the ingest it follows.
final class LogModelFollower: Sendable {
    /// Its users (stack capture, hooks, metrics) read the model once a second. At a viewer's 20 ms
    /// the follower woke the collector 50 times a second (a timer, a flush of the log, a read, a
    /// fold), about half of the collector's CPU at 1,000 events/s.
    static let readInterval: TimeAmount = .milliseconds(250)

    private let box = NIOLockedValueBox(RunModel(limits: .report))
    private let reading = NIOLockedValueBox(Reading())
    private let loop: any EventLoop = LogModelFollower.thread.next()
    /// One for every follower of the process; never shut down, as NIO's singleton group.
    private static let thread = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    /// Where the follower is in the log; only its loop's reads touch it.
    private struct Reading {
        var log: CollectorLog?
        var offset = 0
        var file: LogFileReader?
        var buffer: [UInt8] = []
        var decoder = EventStreamDecoder()
        /// Made when following starts (a promise never completed is a leak NIO reports).
        var done: EventLoopPromise<Void>?
    }

    /// Starts following; it stops once the log is closed and read to its end.
    func start(_ log: CollectorLog) {
        let started = reading.withLockedValue { reading in
            guard reading.done == nil else { return false }
            reading.log = log
            reading.file = LogFileReader(path: log.path)
            reading.done = loop.makePromise(of: Void.self)
            return true
        }
        if started { loop.execute { self.step() } }
    }

    /// Reads a chunk; again at once while behind (yielding the thread between chunks, so the
    /// followers of other collectors in this process take turns), else after `readInterval`.
    private func step() {
        switch readChunk() {
        case .behind: loop.execute { self.step() }
        case .caughtUp: loop.scheduleTask(in: Self.readInterval) { self.step() }
        case .finished: reading.withLockedValue { $0.done }?.succeed(())
        }
    }

    private enum ReadOutcome { case behind, caughtUp, finished }

    private func readChunk() -> ReadOutcome {
        reading.withLockedValue { reading in
            guard let log = reading.log else { return .finished }
            let (end, closed) = log.flushedEnd()
            guard end > reading.offset else {
                guard closed else { return .caughtUp }
                Self.stopReading(&reading)
                return .finished
            }
            if reading.buffer.isEmpty { reading.buffer = [UInt8](repeating: 0, count: LogTail.chunkBytes) }
            let count = min(LogTail.chunkBytes, end - reading.offset)
            let offset = reading.offset
            let got = reading.buffer.withUnsafeMutableBytes { reading.file?.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: $0.prefix(count))) } ?? 0
            // No bytes where the log's end says there are: a file cut under us, or one that
            // could not be opened; the model stays as it is.
            guard got > 0 else {
                Self.stopReading(&reading)
                return .finished
            }
            reading.offset += got
            reading.buffer.withUnsafeBufferPointer { bytes in
                box.withLockedValue { model in
                    reading.decoder.feed(UnsafeBufferPointer(rebasing: bytes.prefix(got))) { model.apply($0) }
                }
            }
            return reading.offset >= end ? .caughtUp : .behind
        }
    }

    private static func stopReading(_ reading: inout Reading) {
        reading.decoder.finish()
        reading.file?.closeFile()
        reading.file = nil
        reading.log = nil
        reading.buffer = []
    }

    /// The run as far as the follower has read (a copy; copy on write makes it cheap).
    var model: RunModel { box.withLockedValue { $0 } }

    /// Waits until the follower has read the whole log (after the log closed); at once if it
    /// never started.
    func finish() async {
        try? await reading.withLockedValue { $0.done }?.futureResult.get()
    }
}
