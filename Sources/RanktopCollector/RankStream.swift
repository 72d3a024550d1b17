import RanktopProtocol

/// One rank's events on one connection, on their way to the log.
///
/// The transport frames lines and hands them in; the stream validates each (protocol v1, `hello`
/// first, one rank per connection, none of the kinds only the collector writes), notes `seq` gaps
/// as `dropped`, and keeps the accepted lines' ORIGINAL bytes, so fields this version does not
/// know survive in the log; only a hello's token is cut out. Lines are committed to the log in
/// batches (one lock per chunk the transport read). When the stream ends without `bye`, the
/// collector writes `lost`.
///
/// Not thread-safe: a transport feeds each stream from one thread at a time (its connection's
/// event loop; for shared memory, whoever is in `ShmIngest`'s pass).
public final class RankStream {
    public enum Verdict: Equatable {
        case keep
        /// Close the connection; the reason is for the collector's warnings.
        case disconnect(String)
        /// The hello's token was wrong: close after the collector's refusal delay.
        case refuseToken
    }

    /// Lines before `hello` tolerated before the connection is dropped, valid or not.
    static let maxLinesBeforeHello = 64
    /// Rejections written to the log per connection; the rest are counted.
    static let rejectionsLogged = 3
    /// Kinds only the collector writes: a rank that sends one is lying about what happened.
    static let collectorKinds: Set<EventKind> = [.lost, .unreachable, .dropped, .inject, .discarded, .stop, .collector]

    private let collector: Collector
    let control: any RankControl
    /// Carried by a relay that proved itself with the token: its ranks need none of their own.
    /// A relay that reconnects sends each ring again from its oldest record, so what the log
    /// already has (by `seq`, per process) is skipped.
    let relayed: Bool
    let connectionID: Int
    let peer: PeerIdentity
    private var decoder = EventDecoder()
    public private(set) var rank: Int?
    private(set) var pid: Int?
    private(set) var run: String?
    private(set) var nextSeq: Int?
    private(set) var saidBye = false
    private var ended = false
    private var linesBeforeHello = 0
    private(set) var rejected = 0
    private var accepted = 0
    private var batch: [UInt8] = []
    private var lineEnds: [Int] = []
    /// The decoded event of each line in `batch`, for the collector's live model.
    private var events: [Event] = []

    init(collector: Collector, control: any RankControl, connectionID: Int, peer: PeerIdentity, relayed: Bool = false) {
        self.relayed = relayed
        self.collector = collector
        self.control = control
        self.connectionID = connectionID
        self.peer = peer
    }

    /// One line, without its newline.
    public func accept(line: UnsafeBufferPointer<UInt8>) -> Verdict {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return .keep }
        let event: Event
        switch decoder.decode(line) {
        case let .success(decoded): event = decoded
        case let .failure(error): return rejectCounted(error.reason)
        }
        if RankStream.collectorKinds.contains(event.kind) {
            return rejectCounted("'\(event.kind.rawValue)' is written by the collector, never by a rank")
        }
        guard let rank else { return acceptFirst(event, line: line) }
        guard event.rank == rank else {
            return reject("rank \(event.rank) on the connection of rank \(rank)")
        }
        if case let .hello(hello) = event.body {
            // The same rank saying hello again on its connection: a new attempt or a new pid.
            guard relayed || collector.admits(peer, token: hello.token) else { return .refuseToken }
            guard hello.run == run else { return reject("a hello of run '\(hello.run.prefix(40))' on a connection of run '\(run ?? "")'") }
            if hello.pid != pid { nextSeq = event.seq.map { $0.saturatingAdd(1) } }
            pid = hello.pid
            appendHello(line, event)
            return .keep
        }
        // A relay sending a ring again, or an emitter re-sending what it had sent before a
        // reconnect (it cannot know what the last collector logged): the first copy of each
        // `seq` is the one kept.
        if let seq = event.seq, let next = nextSeq, seq < next { return .keep }
        noteSeq(event)
        append(line, event)
        switch event.body {
        case .bye: saidBye = true
        case let .triggerSet(set) where set.source == .manual:
            if let id = set.id { collector.injectionApplied(id: id) }
        default: break
        }
        return .keep
    }

    /// A line over the protocol's limit, skipped whole by the framer.
    public func rejectOversize(bytes: Int) -> Verdict {
        rejectCounted("line too long: \(bytes) bytes (limit \(EventDecoder.maxLineBytes))")
    }

    /// Commits what was accepted since the last commit to the log (the end of a read).
    public func commit() {
        guard !lineEnds.isEmpty else { return }
        batch.withUnsafeBufferPointer { collector.log.append($0, lineEnds: lineEnds, events: events) }
        collector.countLines(accepted: accepted)
        accepted = 0
        batch.removeAll(keepingCapacity: batch.capacity <= 1 << 20)
        lineEnds.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
    }

    /// The connection ended. `reason` says why for `lost` (written only when this is the rank's
    /// current connection, it said no `bye`, and the collector is not stopping); nil when the
    /// collector itself closed it.
    public func end(reason: String?, unreachable: String? = nil) {
        guard !ended else { return }
        if rejected > RankStream.rejectionsLogged {
            appendCollectorEvent(Event(rank: -1, ts: WallClock.now, .log(level: .warning, msg: "collector rejected \(rejected) lines in all from \(who)")))
        }
        commit()
        ended = true
        collector.rankStreamEnded(self, reason: reason, unreachable: unreachable)
    }

    // MARK: -

    private var who: String { rank.map { "rank \($0)" } ?? "a connection from \(peer)" }

    private func acceptFirst(_ event: Event, line: UnsafeBufferPointer<UInt8>) -> Verdict {
        guard case let .hello(hello) = event.body else {
            return rejectCounted("'\(event.kind.rawValue)' before hello: the first line of a rank is hello")
        }
        guard relayed || collector.admits(peer, token: hello.token) else { return .refuseToken }
        rank = event.rank
        pid = hello.pid
        run = hello.run
        let registration = collector.registerRank(self, hello: hello, rank: event.rank)
        // Also when a relay sends a ring again: as an emitter's reconnect, the same process's
        // hello again says it is reachable once more.
        appendHello(line, event)
        // Emitters re-send their original hello (seq 0) on every connection; a reconnecting
        // process continues where its last connection stopped, so a gap there is events lost
        // in between.
        nextSeq = registration.resumeSeq ?? event.seq.map { $0.saturatingAdd(1) }
        for injection in registration.injections {
            let control = control
            Task { try? await control.send(injection) }
        }
        return .keep
    }

    private func noteSeq(_ event: Event) {
        guard let seq = event.seq else { return }
        if let expected = nextSeq, seq > expected {
            appendCollectorEvent(Event(rank: event.rank, ts: event.ts, .dropped(count: seq - expected)))
        }
        nextSeq = max(nextSeq ?? 0, seq.saturatingAdd(1))
    }

    /// A hello goes to the log without its token: the log is read by every viewer.
    private func appendHello(_ line: UnsafeBufferPointer<UInt8>, _ event: Event) {
        var event = event
        if case var .hello(hello) = event.body {
            hello.token = nil
            event.body = .hello(hello)
        }
        guard let redacted = FieldRedaction.removing("token", from: line) else { return append(line, event) }
        redacted.withUnsafeBufferPointer { append($0, event) }
    }

    private func append(_ line: UnsafeBufferPointer<UInt8>, _ event: Event) {
        batch.append(contentsOf: line)
        batch.append(0x0A)
        lineEnds.append(batch.count)
        events.append(event)
        accepted += 1
    }

    private func appendCollectorEvent(_ event: Event) {
        EventEncoder.encode(event, into: &batch)
        lineEnds.append(batch.count)
        events.append(event)
    }

    /// A rejection that also counts towards the lines a connection may send before its hello.
    private func rejectCounted(_ reason: String) -> Verdict {
        let verdict = reject(reason)
        guard rank == nil else { return verdict }
        linesBeforeHello += 1
        if linesBeforeHello >= RankStream.maxLinesBeforeHello { return .disconnect("no hello after \(linesBeforeHello) lines") }
        return verdict
    }

    private func reject(_ reason: String) -> Verdict {
        rejected += 1
        collector.countLines(rejected: 1)
        if rejected <= RankStream.rejectionsLogged {
            let more = rejected == RankStream.rejectionsLogged ? " (further rejections are counted, not logged)" : ""
            appendCollectorEvent(Event(rank: -1, ts: WallClock.now, .log(level: .warning, msg: "collector rejected a line from \(who): \(reason)\(more)")))
        }
        return .keep
    }
}
