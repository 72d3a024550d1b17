import Dispatch
import NIOConcurrencyHelpers
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ranks in a shared-memory segment (docs/protocol.md, "Shared-memory layout"): one thread
/// drains every rank's ring into its own `RankStream`, so validation, `seq` gaps, the log and the
/// model are exactly the sockets'. Injections and stack requests go out through the segment's
/// control block. A rank whose process is gone without `bye` is `lost`.
///
/// The segment is created when it does not exist yet (a launcher's collector starts before its
/// ranks); with `drainOnce` (`report`, `ls`: reading a flight recorder) it must exist, is read to
/// its end once, and nothing keeps running.
final class SharedMemoryTransport: Transport {
    let name: String
    let options: SharedMemoryOptions
    private let state = NIOLockedValueBox<State>(State())
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var stopping = false
        var running = false
    }

    init(name: String, options: SharedMemoryOptions) {
        self.name = name
        self.options = options
    }

    func start(collector: Collector) async throws -> Address {
        let segment: ShmSegment
        do {
            segment = options.drainOnce
                ? try ShmSegment.open(name: name, writable: true)
                : try ShmSegment.openOrCreate(name: name, rankCapacity: options.rankCapacity, ringSlots: options.ringSlots)
        } catch {
            throw TransportError(error.description)
        }
        let ingest = ShmIngest(segment: segment, collector: collector)
        if options.drainOnce {
            ingest.drainToEnd()
            // The log ends when it was read, not at the ranks' last event: a rank hung for an
            // hour has been waiting an hour.
            let alive = segment.areas.filter { $0.pid != 0 && ShmSegment.processExists($0.pid) }.count
            collector.log.append(Event(rank: -1, ts: WallClock.now, .log(
                level: .info, msg: "read shared-memory segment \(segment.path): \(alive) rank process\(alive == 1 ? "" : "es") alive")))
            collector.log.flush()
            return .sharedMemory(name: name)
        }
        // Every rank already in the segment is known once `start` returns (`stack shm://` asks
        // them at once); the thread takes over from there.
        while ingest.poll() > 0 {}
        state.withLockedValue { $0.running = true }
        let state = state, finished = finished, interval = options.pollInterval
        DetachedThread.start(name: "ranktop-shm-in", stackSize: 512 * 1024) {
            while !state.withLockedValue({ $0.stopping }) {
                let moved = ingest.poll()
                // Busy rings are drained again at once; idle ones looked at every interval.
                if moved == 0 { usleep(useconds_t(interval * 1_000_000)) }
            }
            ingest.drainToEnd(markLost: false)
            finished.signal()
        }
        return .sharedMemory(name: name)
    }

    func stop() async {
        let running = state.withLockedValue { state -> Bool in
            defer { state.stopping = true }
            return state.running && !state.stopping
        }
        guard running else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                self.finished.wait()
                continuation.resume()
            }
        }
    }
}

/// How a collector reads a segment.
public struct SharedMemoryOptions: Sendable {
    /// Rank areas of a segment this collector creates (ranks beyond them cannot report).
    public var rankCapacity: Int
    public var ringSlots: Int
    /// Read what the segment holds once and stop: a reader of a flight recorder.
    public var drainOnce: Bool
    /// How often idle rings are looked at (seconds).
    public var pollInterval: Double

    public init(rankCapacity: Int = ShmLayout.defaultRankCapacity, ringSlots: Int = ShmLayout.defaultRingSlots, drainOnce: Bool = false, pollInterval: Double = 0.01) {
        self.rankCapacity = rankCapacity
        self.ringSlots = ringSlots
        self.drainOnce = drainOnce
        self.pollInterval = pollInterval
    }
}

/// The rank areas of one segment on their way into the collector. Confined to one thread.
final class ShmIngest: @unchecked Sendable {
    let segment: ShmSegment
    let collector: Collector
    private var feeds: [Int: ShmAreaFeed] = [:]
    private var lastLivenessCheck = 0.0
    /// Liveness (a `kill(pid, 0)` per rank) is checked this often, not every poll.
    static let livenessInterval = 0.25

    init(segment: ShmSegment, collector: Collector) {
        self.segment = segment
        self.collector = collector
    }

    /// One pass over every area; returns the records taken.
    func poll() -> Int {
        let now = MonotonicClock.now
        let checkLiveness = now - lastLivenessCheck >= ShmIngest.livenessInterval
        if checkLiveness { lastLivenessCheck = now }
        var moved = 0
        for index in 0..<segment.rankCapacity {
            let area = segment.area(index)
            guard area.pid != 0 else { continue }
            if let feed = feeds[index], feed.ended {
                // A new process claimed the area: it continues where the last one's reader stopped.
                guard feed.generation != area.generation else { continue }
                feeds[index] = ShmAreaFeed(area: area, collector: collector, segment: segment, resumingAt: feed.reader.position)
            } else if feeds[index] == nil {
                feeds[index] = ShmAreaFeed(area: area, collector: collector, segment: segment)
            }
            moved += feeds[index]!.pump(checkLiveness: checkLiveness)
        }
        return moved
    }

    /// Reads every area to its end; with `markLost`, ranks whose process is gone without `bye`
    /// are written `lost`, and every stream ends.
    func drainToEnd(markLost: Bool = true) {
        _ = poll()
        while poll() > 0 {}
        for index in feeds.keys.sorted() {
            feeds[index]!.finish(markLost: markLost)
        }
    }
}

/// One rank area's current process, as a rank stream.
struct ShmAreaFeed {
    var reader: ShmAreaReader
    let stream: RankStream
    let pid: Int
    var generation: UInt32 { reader.generation }
    private(set) var ended = false

    init(area: ShmRankArea, collector: Collector, segment: ShmSegment, resumingAt position: UInt64? = nil) {
        reader = position.map { ShmAreaReader(area: area, resumingAt: $0) } ?? ShmAreaReader(area: area)
        pid = area.pid
        stream = collector.openRankStream(
            peer: PeerIdentity(.local(uid: getuid(), pid: Int32(truncatingIfNeeded: area.pid))),
            control: ShmRankControl(segment: segment, rank: area.rank)
        )
    }

    /// Takes what the ring holds now; ends the stream once the rank said `bye` or its process is
    /// gone and the ring is empty.
    mutating func pump(checkLiveness: Bool) -> Int {
        guard !ended else { return 0 }
        let stream = stream
        // Another process claimed the area: this one's records end at the newcomer's hello.
        let replaced = reader.area.generation != reader.generation
        let taken = reader.drain(limit: 4096, stopAtHello: replaced) { record in
            record.withMemoryRebound(to: UInt8.self) { _ = stream.accept(line: $0) }
        }
        if taken > 0 { stream.commit() }
        if replaced, taken < 4096 {
            finish(markLost: true)
            return taken
        }
        if taken == 0, stream.saidBye || (checkLiveness && !ShmSegment.processExists(pid)) {
            finish(markLost: true)
        }
        return taken
    }

    mutating func finish(markLost: Bool) {
        guard !ended else { return }
        ended = true
        let exited = !ShmSegment.processExists(pid)
        stream.end(reason: markLost && exited ? "process \(pid) is gone: it ended without bye (shared memory)" : nil)
    }
}

/// The collector's way back to a rank in a segment: its control block.
struct ShmRankControl: RankControl {
    let segment: ShmSegment
    let rank: Int

    func send(_ line: ControlLine) async throws {
        guard segment.control.post(line.line, target: rank) else {
            throw TransportError("the control line is too long for the segment's control block")
        }
    }

    func disconnect() {}
}
