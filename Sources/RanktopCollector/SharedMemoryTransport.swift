import Dispatch
import NIOConcurrencyHelpers
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ranks in a shared-memory segment (docs/protocol.md, "Shared-memory layout"): `ShmIngest`
/// (a thread of its own, or a viewer feed about to read) drains every rank's ring into its own
/// `RankStream`, so validation, `seq` gaps, the log and the
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

    private struct State {
        var stopping = false
        var segment: ShmSegment?
        /// Set once its thread runs (never with `drainOnce`).
        var reader: ShmIngest?
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
        let ingest = ShmSegmentFollower(segment: segment) { area in RankStreamSink(collector: collector, segment: segment, area: area) }
        state.withLockedValue { $0.segment = segment }
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
        let reader = ShmIngest(follower: ingest, interval: options.pollInterval)
        state.withLockedValue { $0.reader = reader }
        reader.start()
        collector.log.addSource { reader.passForReader() }
        return .sharedMemory(name: name)
    }

    func stop() async {
        let reader = state.withLockedValue { state -> ShmIngest? in
            defer { state.stopping = true }
            return state.stopping ? nil : state.reader
        }
        if let reader {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    reader.stop()
                    continuation.resume()
                }
            }
        }
        // A segment no rank ever wrote to (a collector started, then stopped) is not a recording.
        if !options.drainOnce, let segment = state.withLockedValue({ $0.segment }), segment.areas.allSatisfy({ $0.pid == 0 }) {
            segment.unlink()
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
    /// How often idle rings are looked at (seconds). 20 ms, the socket emitters' flush interval,
    /// so an event waits no longer in a ring than in a socket writer's batch; 10 ms cost the
    /// collector 100 wakes a second, about a third of its CPU at 1,000 events/s
    /// (docs/benchmarks.md, "Collector and live view at 1,000 events/s").
    public var pollInterval: Double

    public init(rankCapacity: Int = ShmLayout.defaultRankCapacity, ringSlots: Int = ShmLayout.defaultRingSlots, drainOnce: Bool = false, pollInterval: Double = 0.02) {
        self.rankCapacity = rankCapacity
        self.ringSlots = ringSlots
        self.drainOnce = drainOnce
        self.pollInterval = pollInterval
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

    func post(_ line: ControlLine) {
        _ = segment.control.post(line.line, target: rank)
    }

    func disconnect() {}
}

/// A rank area's records into a `RankStream` of the collector: the same validation, `seq`
/// accounting and `lost` as a socket's.
final class RankStreamSink: ShmRankSink {
    let stream: RankStream

    init(collector: Collector, segment: ShmSegment, area: ShmRankArea) {
        stream = collector.openRankStream(
            peer: PeerIdentity(.local(uid: getuid(), pid: Int32(truncatingIfNeeded: area.pid))),
            control: ShmRankControl(segment: segment, rank: area.rank)
        )
    }

    func accept(_ record: UnsafeRawBufferPointer) {
        record.withMemoryRebound(to: UInt8.self) { _ = stream.accept(line: $0) }
    }

    func commit() { stream.commit() }

    func end(lostReason: String?) { stream.end(reason: lostReason) }
}
