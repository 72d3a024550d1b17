import NIOConcurrencyHelpers
import RanktopModel
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The event log as the collector shares it: many connections append, viewers follow it.
///
/// The file is also the viewers' buffer: a viewer reads the bytes it has not seen from the file,
/// so a viewer that joins late or falls behind costs the collector no memory. When someone waits
/// for new bytes, every commit flushes and wakes them; otherwise the buffer is flushed by size
/// and at least every `flushInterval` (by the collector's timer).
final class CollectorLog: @unchecked Sendable {
    // Every mutable field below is guarded by `lock`; `writer` is only touched while holding it.
    private let lock = NIOLock()
    private let writer: EventLogWriter
    /// File size when opened: the writer only counts its own bytes.
    private let initialSize: Int
    private var waiters: [Waiter] = []
    private var cancelledWaiters: Set<Int> = []
    private var nextWaiterID = 0
    private var closed = false
    private var failure: String?
    /// Bytes handed to the writer; what it has not written yet is still in its buffer.
    private var bytesAppended = 0
    /// While the file takes no writes (a full disk), at most this much waits in memory; past it
    /// lines are discarded and counted, except the few that say where a rank ended up.
    static let maxPendingBytes = 8 << 20
    static let maxReservedBytes = 1 << 20
    private var discardedLines = 0
    /// Every event the collector took, folded as it was appended: the live run's model, so a
    /// launcher's end-of-run summary needs no second pass over the log.
    private var liveModel = RunModel(limits: .report)
    private let keepsModel: Bool
    private var reserved: [UInt8] = []
    /// What holds records on their way to the log that a reader may take first (`addSource`).
    private let sources = NIOLockedValueBox<[@Sendable () -> Void]>([])
    private let warn: @Sendable (String) -> Void

    let path: String

    private struct Waiter {
        var id: Int
        var offset: Int
        var continuation: CheckedContinuation<Int?, Never>
    }

    init(path: String, keepsModel: Bool = false, warn: @escaping @Sendable (String) -> Void) throws {
        self.keepsModel = keepsModel
        self.path = path
        self.warn = warn
        initialSize = try CollectorLog.terminateLastLine(path: path)
        writer = try EventLogWriter(path: path)
    }

    /// A log whose previous writer died mid-line gets a newline first, so that the next event is
    /// not glued to the fragment. Returns the file size afterwards (0 for a new file).
    private static func terminateLastLine(path: String) throws -> Int {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return 0 }
            throw TransportError("cannot open the event log '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { closeDescriptor(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return 0 }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw TransportError("the event log '\(path)' is a directory") }
        let size = Int(info.st_size)
        guard size > 0 else { return 0 }
        var last: UInt8 = 0
        guard pread(fd, &last, 1, off_t(size - 1)) == 1, last != 0x0A else { return size }
        var newline: UInt8 = 0x0A
        guard pwrite(fd, &newline, 1, off_t(size)) == 1 else {
            throw TransportError("cannot write the event log '\(path)': \(String(cString: strerror(errno)))")
        }
        return size + 1
    }

    /// Appends whole lines (each ending in a newline), in order; `lineEnds` are the offsets just
    /// past each line's newline.
    func append(_ bytes: UnsafeBufferPointer<UInt8>, lineEnds: [Int], events: [Event]) {
        let woken: [Waiter] = lock.withLock {
            guard !closed else { return [] }
            if keepsModel { for event in events { liveModel.apply(event) } }
            var start = 0
            for end in lineEnds {
                let line = UnsafeBufferPointer(rebasing: bytes[start..<end])
                start = end
                if failure != nil, writer.pendingBytes >= CollectorLog.maxPendingBytes {
                    discard(line)
                    continue
                }
                do {
                    try writer.append(line: line)
                    bytesAppended += line.count
                } catch {
                    bytesAppended += line.count
                    noteFailure(error)
                }
            }
            return waiters.isEmpty ? [] : flushAndTakeWaiters()
        }
        resume(woken)
    }

    /// Appends one event the collector makes itself (`lost`, `dropped`, `inject`, a warning).
    func append(_ event: Event) {
        var line: [UInt8] = []
        EventEncoder.encode(event, into: &line)
        line.withUnsafeBufferPointer { append($0, lineEnds: [$0.count], events: [event]) }
    }

    /// A transport whose records wait to be taken (shared-memory rings) lets a reader about to
    /// read the log take them first: see `ShmIngest`.
    func addSource(_ take: @escaping @Sendable () -> Void) {
        sources.withLockedValue { $0.append(take) }
    }

    /// Takes what every source holds now into the log (a viewer feed, before it reads).
    func takeFromSources() {
        for take in sources.withLockedValue({ $0 }) { take() }
    }

    /// The run as the collector has taken it so far (a copy; copy on write makes it cheap).
    func model() -> RunModel {
        lock.withLock { liveModel }
    }

    /// The end of the log's lines so far (flushed first): where a viewer of new events starts.
    func end() -> Int {
        let (end, woken): (Int, [Waiter]) = lock.withLock {
            let woken = closed ? [] : flushAndTakeWaiters()
            return (initialSize + writer.bytesWritten, woken)
        }
        resume(woken)
        return end
    }

    /// The end of the log's lines, flushed first, and whether the log is closed (then that end is
    /// final): for a follower that reads on its own timer.
    func flushedEnd() -> (end: Int, closed: Bool) {
        lock.withLock { (flushedEndLocked(), closed) }
    }

    /// Where a follower at `offset` reads next: `.buffered` when the bytes from `offset` are not
    /// in the file yet (handed to `copy`, under the lock, unless there are none); `.inFile` up to
    /// `end`, for the follower to read there.
    enum TailRead {
        case buffered(closed: Bool)
        case inFile(end: Int)
    }

    /// What follows `offset`, for a caught-up follower straight from the writer's buffer: a
    /// viewer that read the file had the log flushed first, a write to the file and a read back
    /// 50 times a second for lines that were in memory. The file still gets them at the flush
    /// interval.
    func readTail(from offset: Int, _ copy: (UnsafeRawBufferPointer) -> Void) -> TailRead {
        lock.withLock {
            let inFile = initialSize + writer.bytesWritten
            guard offset >= inFile else { return .inFile(end: inFile) }
            writer.withPendingBytes { pending in
                let start = offset - inFile
                if start < pending.count { copy(UnsafeRawBufferPointer(rebasing: pending[start...])) }
            }
            return .buffered(closed: closed)
        }
    }

    /// Pushes the buffer to the file (the collector's timer, and where the file must hold what was
    /// appended: the start record, injections, a flight recorder's read).
    func flush() {
        let woken: [Waiter] = lock.withLock { closed ? [] : flushAndTakeWaiters() }
        resume(woken)
    }

    /// Flushes and closes: followers read to the end, then finish.
    func close() {
        let woken: [Waiter] = lock.withLock {
            guard !closed else { return [] }
            let taken = flushAndTakeWaiters(all: true)
            closed = true
            return taken
        }
        resume(woken)
    }

    /// Waits until the file holds bytes beyond `offset`; returns the new end, or nil once the log is
    /// closed and `offset` is its end. Cancelling the task returns nil.
    func waitForData(beyond offset: Int) async -> Int? {
        let id = lock.withLock {
            nextWaiterID += 1
            return nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
                let immediate: Int?? = lock.withLock {
                    if cancelledWaiters.remove(id) != nil { return .some(nil) }
                    let end = flushedEndLocked()
                    if end > offset { return .some(end) }
                    if closed { return .some(nil) }
                    waiters.append(Waiter(id: id, offset: offset, continuation: continuation))
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter: Waiter? = lock.withLock {
                if let index = waiters.firstIndex(where: { $0.id == id }) { return waiters.remove(at: index) }
                cancelledWaiters.insert(id)
                return nil
            }
            waiter?.continuation.resume(returning: nil)
        }
    }

    // MARK: under the lock

    /// The end of the file's lines, after writing out what the buffer holds (unless closed).
    private func flushedEndLocked() -> Int {
        if !closed, bytesAppended > writer.bytesWritten { flushLocked() }
        return initialSize + writer.bytesWritten
    }

    private func flushLocked() {
        do {
            try writer.flush()
        } catch {
            noteFailure(error)
            return
        }
        if failure != nil { recovered() }
    }

    /// A line that cannot be held while the file takes no writes: counted, unless it is one of
    /// the few that say where a rank ended up (hello, bye, lost), which are kept while room lasts.
    private func discard(_ line: UnsafeBufferPointer<UInt8>) {
        var decoder = EventDecoder()
        let body = line.last == 0x0A ? UnsafeBufferPointer(rebasing: line.dropLast()) : line
        if case let .success(event) = decoder.decode(body), [.hello, .bye, .lost].contains(event.kind),
           reserved.count + line.count <= CollectorLog.maxReservedBytes {
            reserved.append(contentsOf: line)
            return
        }
        discardedLines += 1
    }

    /// The file takes writes again: say how many lines were discarded (as LTTng records its
    /// discarded-event counts), then what was kept aside.
    private func recovered() {
        let reason = failure
        failure = nil
        guard discardedLines > 0 || !reserved.isEmpty else { return }
        let count = discardedLines
        discardedLines = 0
        var line: [UInt8] = []
        EventEncoder.encode(Event(rank: -1, ts: WallClock.now, .discarded(count: count, reason: reason)), into: &line)
        let kept = reserved
        reserved = []
        do {
            try line.withUnsafeBufferPointer { try writer.append(line: $0) }
            bytesAppended += line.count
            if !kept.isEmpty {
                try kept.withUnsafeBufferPointer { try writer.append(line: $0) }
                bytesAppended += kept.count
            }
            try writer.flush()
        } catch {
            noteFailure(error)
        }
        warn("the event log takes writes again; \(count) events were discarded while it did not")
    }

    /// Flushes and takes the waiters the new end satisfies (all of them when closing).
    private func flushAndTakeWaiters(all: Bool = false) -> [Waiter] {
        flushLocked()
        let end = initialSize + writer.bytesWritten
        var woken: [Waiter] = []
        waiters.removeAll { waiter in
            guard all || end > waiter.offset else { return false }
            woken.append(waiter)
            return true
        }
        return woken
    }

    private func noteFailure(_ error: any Error) {
        let message = "\(error)"
        if failure != message {
            failure = message
            warn("\(message); events are being lost from the log")
        }
    }

    private func resume(_ woken: [Waiter]) {
        guard !woken.isEmpty else { return }
        let end = lock.withLock { initialSize + writer.bytesWritten }
        for waiter in woken { waiter.continuation.resume(returning: end > waiter.offset ? end : nil) }
    }
}
