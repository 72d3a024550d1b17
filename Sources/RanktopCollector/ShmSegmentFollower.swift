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
/// transport and `ranktop relay` share. Not thread-safe: one thread at a time (`ShmIngest`).
///
/// An area's process is done once its ring is drained and it said `bye` (the state block's flag)
/// or its pid is gone; a new process claiming the area (generation + 1) starts a new sink where
/// the last one's records end, at its `hello`.
final class ShmSegmentFollower: @unchecked Sendable {
    let segment: ShmSegment
    private let makeSink: (ShmRankArea) -> any ShmRankSink
    /// By area index; each feed a class, so a pass mutates it in place (a dictionary of structs
    /// copied each feed's buffers in and out: three quarters of a relay's CPU).
    private var feeds: [ShmAreaFeed?]
    private let areas: [ShmRankArea]
    private var lastLivenessCheck = 0.0
    /// Liveness (`kill(pid, 0)` and a read of /proc per rank) is checked this often, and only
    /// for areas that gave nothing in the pass: a rank that writes is alive.
    static let livenessInterval = 0.5
    /// Records taken from one area per pass, so one busy rank cannot starve the others.
    let recordsPerPass: Int

    init(segment: ShmSegment, recordsPerPass: Int = 4096, makeSink: @escaping (ShmRankArea) -> any ShmRankSink) {
        self.segment = segment
        self.recordsPerPass = recordsPerPass
        self.makeSink = makeSink
        areas = segment.areas
        feeds = Array(repeating: nil, count: areas.count)
    }

    /// Whether the last pass left records behind in some area (it took its limit there).
    private(set) var lastPassWasCut = false

    /// One pass over every area, at most `limit` records from each (`recordsPerPass` if nil);
    /// returns the records taken.
    func poll(limit: Int? = nil) -> Int {
        let limit = limit ?? recordsPerPass
        let now = MonotonicClock.now
        let checkLiveness = now - lastLivenessCheck >= ShmSegmentFollower.livenessInterval
        if checkLiveness { lastLivenessCheck = now }
        var moved = 0
        var cut = false
        defer { lastPassWasCut = cut }
        for index in areas.indices {
            let feed: ShmAreaFeed
            if let existing = feeds[index] {
                feed = existing
                if feed.ended {
                    // A new process claimed the area: it continues where the last one's records end.
                    let area = areas[index]
                    guard area.pid != 0, feed.generation != area.generation else { continue }
                    let next = ShmAreaFeed(area: area, sink: makeSink(area), resumingAt: feed.reader.position)
                    feeds[index] = next
                    let taken = next.pump(checkLiveness: checkLiveness, limit: limit)
                    moved += taken
                    cut = cut || taken >= limit
                    continue
                }
            } else {
                let area = areas[index]
                guard area.pid != 0 else { continue }
                feed = ShmAreaFeed(area: area, sink: makeSink(area), resumingAt: nil)
                feeds[index] = feed
            }
            let taken = feed.pump(checkLiveness: checkLiveness, limit: limit)
            moved += taken
            cut = cut || taken >= limit
        }
        return moved
    }

    /// Reads every area to its end, then ends every sink: `lost` for a process gone without
    /// `bye` when `markLost`.
    func drainToEnd(markLost: Bool = true) {
        lastLivenessCheck = 0
        while poll() > 0 {}
        for feed in feeds { feed?.finish(markLost: markLost) }
    }

    /// Every area again from the oldest record its ring holds (and its state block), into new
    /// sinks: a relay's new connection, whose head drops what it already has by `seq`.
    func restart() {
        feeds = Array(repeating: nil, count: areas.count)
    }

    /// Whether every area that was followed is done (a segment removed once its run ended).
    var everyFeedEnded: Bool {
        let followed = feeds.compactMap { $0 }
        return !followed.isEmpty && followed.allSatisfy(\.ended)
    }
}

/// One rank area's current process, into its sink.
final class ShmAreaFeed {
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
    func pump(checkLiveness: Bool, limit: Int) -> Int {
        guard !ended else { return 0 }
        let area = reader.area
        // Read before the drain: `bye` is in the ring before the flag is set.
        let saidBye = area.saidBye
        let quiet = area.head == reader.position
        let gone = checkLiveness && quiet && !ShmSegment.processExists(pid)
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

    func finish(markLost: Bool) {
        guard !ended else { return }
        ended = true
        let saidBye = reader.area.saidBye && reader.area.generation == reader.generation
        let exited = !ShmSegment.processExists(pid)
        sink.end(lostReason: markLost && exited && !saidBye ? "process \(pid) is gone: it ended without bye (shared memory)" : nil)
    }
}
