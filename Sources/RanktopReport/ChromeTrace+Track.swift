import RanktopModel
import RanktopProtocol

/// A span opened on a rank's track, written as one `X` event once it closes.
struct OpenSpan: Sendable {
    var name: String
    var category: String
    /// Seconds, the log's clock.
    var ts: Double
    var args: [(String, JSONValue)]
}

/// One rank's thread in the trace: its open spans, the stall it may be in, and the events that
/// wait to be written because something still open began before them.
///
/// Why the wait: an `X` event is written when its span closes but carries the time it opened,
/// and a stall's instant is written when the stall ends (its args say how long it lasted) but
/// carries its onset. A trace whose events are in time order per thread needs those before the
/// instants and counters that came meanwhile, so each of those waits here until every span and
/// stall still open on the rank began after it (`watermark`). The wait is bounded
/// (`ChromeTrace.maxBufferedPerRank`): past it, what is open is cut into a piece that ends now
/// and a piece that goes on (`cut`).
struct ChromeTrack: Sendable {
    let rank: Int
    let pid: Int
    var barrier: OpenSpan?
    var phase: OpenSpan?
    var collective: (key: CollectiveKey, span: OpenSpan)?
    /// When the rank's stall began, or will begin if nothing about it changes (seconds); nil when
    /// the rank cannot be stalled as it stands (`StallPolicy.stallOnset`).
    var stallOnset: Double?
    /// The stall was cut (`cut`): what is written next is its continuation.
    var stallContinued = false
    /// The latest event time of the rank (seconds).
    var lastTs = -Double.infinity
    /// Waiting to be written, in the order they will be written.
    private(set) var buffer: [TraceEvent] = []
    /// The time of the last event written for this thread (microseconds).
    private(set) var written = Int.min

    /// The rank's series in each counter: `rank 3`.
    let series: String

    init(rank: Int, pid: Int) {
        self.rank = rank
        self.pid = pid
        series = "rank \(rank)"
    }

    /// Nothing earlier than this can still come for the rank (microseconds); nil when nothing is open.
    var watermark: Int? {
        var low = Double.infinity
        if let ts = barrier?.ts { low = min(low, ts) }
        if let ts = phase?.ts { low = min(low, ts) }
        if let ts = collective?.span.ts { low = min(low, ts) }
        if let ts = stallOnset { low = min(low, ts) }
        return low == .infinity ? nil : TraceEvent.micros(low)
    }

    mutating func add(_ event: TraceEvent) {
        var event = event
        event.clamp(notBefore: written)
        // Almost always at the end: scan back from it.
        var i = buffer.count
        while i > 0, event.precedes(buffer[i - 1]) { i -= 1 }
        buffer.insert(event, at: i)
    }

    /// Moves out, in order, every waiting event that nothing still open began before (all of
    /// them with `everything`).
    mutating func drain(into out: inout TraceText, everything: Bool = false) {
        guard !buffer.isEmpty else { return }
        let limit = everything ? nil : watermark
        var n = 0
        while n < buffer.count, limit.map({ buffer[n].ts < $0 }) ?? true {
            out.append(buffer[n])
            written = max(written, buffer[n].ts)
            n += 1
        }
        if n == buffer.count { buffer.removeAll(keepingCapacity: true) } else if n > 0 { buffer.removeFirst(n) }
    }

    /// Ends whatever is open at `ts` (seconds) as a piece marked `continues`, and goes on with a
    /// piece that begins there, marked `continued`: what waited can then be written.
    mutating func cut(at ts: Double) {
        let end = TraceEvent.micros(ts)
        func piece(_ span: inout OpenSpan) -> TraceEvent? {
            guard span.ts < ts else { return nil }
            let event = TraceEvent.complete(
                span.name, category: span.category, start: TraceEvent.micros(span.ts), end: end, pid: pid, tid: rank,
                args: span.args + [("continues", .bool(true))]
            )
            span.ts = ts
            if !span.args.contains(where: { $0.0 == "continued" }) { span.args.append(("continued", .bool(true))) }
            return event
        }
        var pieces: [TraceEvent] = []
        if var span = barrier, let event = piece(&span) { pieces.append(event); barrier = span }
        if var span = phase, let event = piece(&span) { pieces.append(event); phase = span }
        if var open = collective, let event = piece(&open.span) { pieces.append(event); collective = open }
        if let onset = stallOnset, onset < ts {
            pieces.append(stall(from: onset, to: ts, extra: [("continues", .bool(true))]))
            stallOnset = ts
            stallContinued = true
        }
        for event in pieces { add(event) }
    }

    /// The stall instant: at its onset, saying how long it lasted.
    func stall(from onset: Double, to end: Double, extra: [(String, JSONValue)]) -> TraceEvent {
        var args: [(String, JSONValue)] = [("seconds", .double((max(0, end - onset) * 1e6).rounded() / 1e6))]
        if stallContinued { args.append(("continued", .bool(true))) }
        return TraceEvent.instant(
            "stall", category: "stall", ts: TraceEvent.micros(onset), pid: pid, tid: rank, args: args + extra
        )
    }
}
