import RanktopProtocol

/// Where a rank area's records go: a `RankStream` of this collector, or a relay's connection to
/// the head.
protocol ShmRankSink: AnyObject {
    func accept(_ record: UnsafeRawBufferPointer)
    /// The end of a drain.
    func commit()
    /// The area's process is done: `lostReason` when it is gone without `bye`; nil when it said
    /// `bye`, or when the reader stops while it still runs.
    func end(lostReason: String?)
}

/// Follows every rank area of one segment, each into its own sink: what the collector's shm
/// transport and `ranktop relay` share. Confined to one thread.
///
/// An area's process is done once its ring is drained and it said `bye` (the state block's flag)
/// or its pid is gone; a new process claiming the area (generation + 1) starts a new sink where
/// the last one's records end, at its `hello`.
final class ShmSegmentFollower: @unchecked Sendable {
    let segment: ShmSegment
    private let makeSink: (ShmRankArea) -> any ShmRankSink
    private var feeds: [Int: ShmAreaFeed] = [:]
    private var lastLivenessCheck = 0.0
    /// Liveness (a `kill(pid, 0)` per rank) is checked this often, not every poll.
    static let livenessInterval = 0.25
    /// Records taken from one area per pass, so one busy rank cannot starve the others.
    let recordsPerPass: Int

    init(segment: ShmSegment, recordsPerPass: Int = 4096, makeSink: @escaping (ShmRankArea) -> any ShmRankSink) {
        self.segment = segment
        self.recordsPerPass = recordsPerPass
        self.makeSink = makeSink
    }

    /// One pass over every area; returns the records taken.
    func poll() -> Int {
        let now = MonotonicClock.now
        let checkLiveness = now - lastLivenessCheck >= ShmSegmentFollower.livenessInterval
        if checkLiveness { lastLivenessCheck = now }
        var moved = 0
        for index in 0..<segment.rankCapacity {
            let area = segment.area(index)
            guard area.pid != 0 else { continue }
            if let feed = feeds[index], feed.ended {
                // A new process claimed the area: it continues where the last one's records end.
                guard feed.generation != area.generation else { continue }
                feeds[index] = ShmAreaFeed(area: area, sink: makeSink(area), resumingAt: feed.reader.position)
            } else if feeds[index] == nil {
                feeds[index] = ShmAreaFeed(area: area, sink: makeSink(area), resumingAt: nil)
            }
            moved += feeds[index]!.pump(checkLiveness: checkLiveness, limit: recordsPerPass)
        }
        return moved
    }

    /// Reads every area to its end, then ends every sink: `lost` for a process gone without
    /// `bye` when `markLost`.
    func drainToEnd(markLost: Bool = true) {
        lastLivenessCheck = 0
        while poll() > 0 {}
        for index in feeds.keys.sorted() { feeds[index]!.finish(markLost: markLost) }
    }

    /// Every area again from the oldest record its ring holds (and its state block), into new
    /// sinks: a relay's new connection, whose head drops what it already has by `seq`.
    func restart() {
        feeds.removeAll()
    }

    /// Whether every area that was followed is done (a segment removed once its run ended).
    var everyFeedEnded: Bool { !feeds.isEmpty && feeds.values.allSatisfy(\.ended) }
}

/// One rank area's current process, into its sink.
struct ShmAreaFeed {
    private(set) var reader: ShmAreaReader
    let sink: any ShmRankSink
    let pid: Int
    var generation: UInt32 { reader.generation }
    private(set) var ended = false

    init(area: ShmRankArea, sink: any ShmRankSink, resumingAt position: UInt64?) {
        reader = position.map { ShmAreaReader(area: area, resumingAt: $0) } ?? ShmAreaReader(area: area)
        pid = area.pid
        self.sink = sink
    }

    /// Takes what the ring holds now; ends once the rank said `bye` or its process is gone and
    /// the ring is empty.
    mutating func pump(checkLiveness: Bool, limit: Int) -> Int {
        guard !ended else { return 0 }
        let area = reader.area
        // Read before the drain: `bye` is in the ring before the flag is set.
        let saidBye = area.saidBye
        let gone = checkLiveness && !ShmSegment.processExists(pid)
        // Another process claimed the area: this one's records end at the newcomer's hello.
        let replaced = area.generation != reader.generation
        let sink = sink
        let taken = reader.drain(limit: limit, stopAtHello: replaced) { sink.accept($0) }
        if taken > 0 { sink.commit() }
        if taken < limit, replaced || saidBye || gone {
            finish(markLost: true)
        }
        return taken
    }

    mutating func finish(markLost: Bool) {
        guard !ended else { return }
        ended = true
        let saidBye = reader.area.saidBye && reader.area.generation == reader.generation
        let exited = !ShmSegment.processExists(pid)
        sink.end(lostReason: markLost && exited && !saidBye ? "process \(pid) is gone: it ended without bye (shared memory)" : nil)
    }
}
