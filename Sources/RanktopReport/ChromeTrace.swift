import RanktopModel
import RanktopProtocol

/// Turns events into Chrome trace events (the JSON that Perfetto and chrome://tracing open): one
/// process per node and one thread per rank, named and sorted by metadata events; barrier waits,
/// blocking collectives and main-first phases as complete (`X`) spans; trigger sets and firings,
/// injections, stalls, losses (lost, unreachable, dropped and discarded events), restarts and
/// exits as instants; the step and each metric as counters.
///
/// The spans and stalls are the model's: every event is folded into a `RunModel`; a span opens
/// and closes where the rank's barrier, phase or blocking collective in the model does (implied
/// exits, restarts and dropped events follow the report's rules), and a stall begins where
/// `StallPolicy` says the rank, alive, no longer progresses (`StallPolicy.stallOnset`, the rule
/// `RunSnapshot` applies) and ends when it moves on or ends.
///
/// Each rank's events come out in time order (see `ChromeTrack`). Streaming, in bounded memory:
/// the model is bounded, and what waits per rank is bounded too.
public struct ChromeTrace: Sendable {
    /// Events a rank may hold back behind a span or stall still open before it is cut.
    public static let maxBufferedPerRank = 1024
    /// Events all ranks together may hold back before every open one is cut.
    public static let maxBuffered = 1 << 16
    /// The thread of the run's own events (injections, stops, the collector's discards): past
    /// every rank number the protocol allows, so it is no rank's thread.
    public static let runThread = EventDecoder.maxWorld
    /// The process of ranks with no `hello` (no node) yet.
    static let noNode = "ranks without hello"

    private var model = RunModel(limits: .report)
    private let stallPolicy: StallPolicy
    private var tracks: [ChromeTrack?] = []
    private var nodePids: [String: Int] = [:]
    private var buffered = 0
    private var runNamed = false
    private var runWritten = Int.min

    public init(stallPolicy: StallPolicy = .standard) {
        self.stallPolicy = stallPolicy
    }

    /// Appends the trace events one protocol event makes ready to write, in order (often none).
    public mutating func convert(_ event: Event, into out: inout TraceText) {
        let rank = event.rank
        guard rank >= 0 else {
            model.apply(event)
            runEvent(event, into: &out)
            return
        }
        let before = RankState(model, rank)
        model.apply(event)
        guard let after = RankState(model, rank) else { return }
        var track = takeTrack(rank, into: &out)
        let held = track.buffer.count
        track.lastTs = max(track.lastTs, event.ts)
        barrierSpans(&track, was: before?.barrier, now: after.barrier, ts: event.ts)
        phaseSpans(&track, was: before?.phase, now: after.phase, ts: event.ts)
        collectiveSpans(&track, now: after.collective, ts: event.ts)
        followStall(&track, before: before, after: after, ts: event.ts)
        instants(event, before: before, after: after, into: &track)
        if case .inject = event.body { runEvent(event, into: &out) }
        if case .discarded = event.body { runEvent(event, into: &out) }
        if case .stop = event.body { runEvent(event, into: &out) }
        if track.buffer.count > ChromeTrace.maxBufferedPerRank { track.cut(at: track.lastTs) }
        track.drain(into: &out)
        buffered += track.buffer.count - held
        tracks[rank] = track
        if buffered > ChromeTrace.maxBuffered { cutEveryRank(into: &out) }
    }

    /// The same as values, for tests and tools that look at a few events (slower: the text is
    /// parsed back).
    public mutating func convert(_ event: Event) -> [JSONValue] {
        var text = TraceText()
        convert(event, into: &text)
        return text.values
    }

    public mutating func finish() -> [JSONValue] {
        var text = TraceText()
        finish(into: &text)
        return text.values
    }

    /// What is still open when the log ends (the hang): spans end at the log's last timestamp
    /// and stalls last until then, both marked `still_open`; then everything held back.
    public mutating func finish(into out: inout TraceText) {
        let end = model.lastTs ?? 0
        let still: [(String, JSONValue)] = [("still_open", .bool(true))]
        for rank in tracks.indices {
            guard var track = tracks[rank] else { continue }
            if let span = track.barrier { track.add(closed(span, on: track, end: end, extra: still)) }
            if let span = track.phase { track.add(closed(span, on: track, end: end, extra: still)) }
            if let open = track.collective { track.add(closed(open.span, on: track, end: end, extra: still)) }
            track.barrier = nil
            track.phase = nil
            track.collective = nil
            if track.stallOnset == nil { track.stallOnset = onset(ofRank: rank, judgedFrom: nil) }
            if let onset = track.stallOnset, end > onset {
                track.add(track.stall(from: onset, to: end, extra: still))
            }
            track.stallOnset = nil
            track.drain(into: &out, everything: true)
            tracks[rank] = track
        }
        buffered = 0
    }

    // MARK: - Tracks

    /// The rank's track, created (and named) the first time the rank appears in any event.
    private mutating func takeTrack(_ rank: Int, into out: inout TraceText) -> ChromeTrack {
        if rank < tracks.count, tracks[rank] != nil {
            // Taken out, not copied: a copy would make the next append copy the whole buffer.
            var slot: ChromeTrack?
            swap(&slot, &tracks[rank])
            return slot!
        }
        if rank >= tracks.count { tracks.append(contentsOf: repeatElement(nil, count: rank + 1 - tracks.count)) }
        let name = (rank < model.rankSlots.count ? model.rankSlots[rank]?.node : nil) ?? ChromeTrace.noNode
        let pid: Int
        if let known = nodePids[name] {
            pid = known
        } else {
            pid = nodePids.count + 1
            nodePids[name] = pid
            out.append(TraceEvent.metadata("process_name", pid: pid, args: [("name", .string(name))]))
            out.append(TraceEvent.metadata("process_sort_index", pid: pid, args: [("sort_index", .int(pid))]))
        }
        out.append(TraceEvent.metadata("thread_name", pid: pid, tid: rank, args: [("name", .string("rank \(rank)"))]))
        out.append(TraceEvent.metadata("thread_sort_index", pid: pid, tid: rank, args: [("sort_index", .int(rank))]))
        return ChromeTrack(rank: rank, pid: pid)
    }

    /// Past the total that may wait: every rank with events held back cuts what it has open.
    private mutating func cutEveryRank(into out: inout TraceText) {
        for rank in tracks.indices {
            guard var track = tracks[rank], !track.buffer.isEmpty else { continue }
            track.cut(at: track.lastTs)
            track.drain(into: &out)
            tracks[rank] = track
        }
        buffered = tracks.reduce(0) { $0 + ($1?.buffer.count ?? 0) }
    }

    // MARK: - Spans

    private func closed(_ span: OpenSpan, on track: ChromeTrack, end: Double, extra: [(String, JSONValue)] = []) -> TraceEvent {
        var name = span.name
        if !extra.isEmpty { name += " (still open)" }
        return TraceEvent.complete(
            name, category: span.category, start: TraceEvent.micros(span.ts), end: TraceEvent.micros(end),
            pid: track.pid, tid: track.rank, args: span.args + extra
        )
    }

    /// A barrier span closes when the model says the rank left it (an exit, or one implied by a
    /// later event), and opens when the model says it entered one.
    private func barrierSpans(_ track: inout ChromeTrack, was: RankBarrier?, now: RankBarrier?, ts: Double) {
        guard was?.n != now?.n else { return }
        if let span = track.barrier {
            track.add(closed(span, on: track, end: ts))
            track.barrier = nil
        }
        if let now {
            var name = "barrier #\(now.n)"
            if let label = now.name { name += " \(label)" }
            var args: [(String, JSONValue)] = [("n", .int(now.n))]
            if let site = now.site { args.append(("site", .string(site))) }
            track.barrier = OpenSpan(name: name, category: "barrier", ts: now.since, args: args)
        }
    }

    /// The blocking collective the rank is in, as a span: async ops in flight overlap the work
    /// they hide behind, so only the calls that block the rank's thread are on its track.
    private func collectiveSpans(_ track: inout ChromeTrack, now: RankCollective?, ts: Double) {
        let key = now.map { CollectiveKey(group: $0.group, n: $0.n) }
        guard track.collective?.key != key else { return }
        if let open = track.collective {
            track.add(closed(open.span, on: track, end: ts))
            track.collective = nil
        }
        if let now, let key {
            var name = "\(now.op) #\(now.n)"
            if let label = now.label { name += " \(label)" }
            var args: [(String, JSONValue)] = [("group", .string(now.group)), ("seq", .int(now.n))]
            if let site = now.site { args.append(("site", .string(site))) }
            track.collective = (key, OpenSpan(name: name, category: "collective", ts: now.since, args: args))
        }
    }

    /// A phase span covers the rank's time in one occurrence of a main-first phase, as the model
    /// tracks it (its parts are the same span).
    private func phaseSpans(_ track: inout ChromeTrack, was: RankPhase?, now: RankPhase?, ts: Double) {
        let same = was.map { w in now.map { $0.name == w.name && $0.occurrence == w.occurrence } ?? false } ?? (now == nil)
        guard !same else { return }
        if let span = track.phase {
            track.add(closed(span, on: track, end: ts))
            track.phase = nil
        }
        if let now {
            let part = now.main ? "main part" : "after main"
            track.phase = OpenSpan(
                name: "\(now.name) (\(part))", category: "phase", ts: now.since,
                args: [("mode", .string(now.mode.rawValue)), ("occurrence", .int(now.occurrence))]
            )
        }
    }

    // MARK: - Stalls

    /// A stall ends when the rank moves on (a step, a barrier or collective left), ends or
    /// restarts; its instant is then written at its onset. A new onset is found from the state
    /// after the event: the policy's, and never before the event that made the rank judged.
    private func followStall(_ track: inout ChromeTrack, before: RankState?, after: RankState, ts: Double) {
        let moved = before.map { $0.activity != after.activity || $0.restarts != after.restarts } ?? true
        if let onset = track.stallOnset, moved || after.terminal {
            if ts > onset { track.add(track.stall(from: onset, to: ts, extra: [])) }
            track.stallOnset = nil
            track.stallContinued = false
        }
        guard track.stallOnset == nil, !after.terminal else { return }
        track.stallOnset = onset(ofRank: track.rank, judgedFrom: ts)
    }

    /// When the rank's stall begins if nothing changes: by its own state (a step, a wait), else
    /// because others wait for it (from when they began to).
    private func onset(ofRank rank: Int, judgedFrom ts: Double?) -> Double? {
        if let onset = model.stallOnset(ofRank: rank, policy: stallPolicy, awaited: false) {
            // Judged from this event on (it began to wait), unless others waited for it before.
            guard let ts, onset < ts else { return onset }
            return max(onset, model.awaitedSince(rank: rank).map { min($0, ts) } ?? ts)
        }
        guard rank < model.rankSlots.count, let status = model.rankSlots[rank]?.status, !status.isTerminal,
              let since = model.awaitedSince(rank: rank),
              let onset = model.stallOnset(ofRank: rank, policy: stallPolicy, awaited: true) else { return nil }
        return max(onset, since)
    }

    // MARK: - Instants and counters

    /// The instants and counters a rank's event is, whatever the model made of it.
    private func instants(_ event: Event, before: RankState?, after: RankState, into track: inout ChromeTrack) {
        let ts = TraceEvent.micros(event.ts)
        let pid = track.pid
        let rank = track.rank
        func instant(_ name: String, _ category: String, _ args: [(String, JSONValue)] = []) {
            track.add(TraceEvent.instant(name, category: category, ts: ts, pid: pid, tid: rank, args: args))
        }
        if after.restarts > (before?.restarts ?? 0) { instant("restart #\(after.restarts)", "restart") }
        switch event.body {
        case let .progress(progress):
            track.add(TraceEvent.counter("step", series: track.series, value: .int(progress.step), ts: ts, pid: pid, tid: rank))
            for metric in progress.metrics {
                if metric.value.isFinite {
                    track.add(TraceEvent.counter(metric.name, series: track.series, value: .double(metric.value), ts: ts, pid: pid, tid: rank))
                } else {
                    // JSON has no NaN: a counter would lose exactly the sample worth seeing.
                    instant("\(metric.name) = \(metric.value)", "metric", [("step", .int(progress.step))])
                }
            }
        case let .triggerSet(set):
            let who = set.source == .manual ? "manual \(set.id ?? "")" : "code"
            var args: [(String, JSONValue)] = [("source", .string(set.source.rawValue))]
            if let id = set.id { args.append(("id", .string(id))) }
            if let reason = set.reason { args.append(("reason", .string(reason))) }
            instant("trigger set (\(who))\(set.reason.map { ": \($0)" } ?? "")", "trigger", args)
        case let .triggerCheck(n, fired):
            if fired { instant("trigger fired at check #\(n)", "trigger", [("check", .int(n))]) }
        case let .bye(code, error):
            if error == nil, (code ?? 0) == 0 {
                instant("exit", "exit")
            } else {
                instant("failed: \(error ?? "exit code \(code ?? 0)")", "exit", code.map { [("code", .int($0))] } ?? [])
            }
        case let .lost(reason):
            instant("lost: \(reason)", "loss", [("reason", .string(reason))])
        case let .unreachable(reason):
            instant("unreachable: \(reason)", "loss", [("reason", .string(reason))])
        case let .dropped(count):
            instant("dropped \(count) events", "loss", [("count", .int(count))])
        case .hello, .log, .heartbeat, .stack, .barrierEnter, .barrierExit, .phaseEnter, .phaseExit,
             .collectiveEnter, .collectiveExit, .inject, .discarded, .stop, .collector:
            break
        }
        // Events missing by the rank's own numbering (a `seq` gap), when no `dropped` said so.
        if case .dropped = event.body {} else if let before, after.dropped > before.dropped {
            instant("\(after.dropped - before.dropped) events missing (seq gap)", "loss", [("count", .int(after.dropped - before.dropped))])
        }
    }

    /// The run's own events, on the run's thread (process 0): instants of global scope.
    private mutating func runEvent(_ event: Event, into out: inout TraceText) {
        let name: String
        var args: [(String, JSONValue)] = []
        let category: String
        switch event.body {
        case let .inject(injection):
            name = "inject \(injection.id)\(injection.by.map { " by \($0)" } ?? "")"
            category = "injection"
            args.append(("id", .string(injection.id)))
            if let reason = injection.reason { args.append(("reason", .string(reason))) }
        case let .discarded(count, reason):
            name = "collector discarded \(count) events\(reason.map { ": \($0)" } ?? "")"
            category = "loss"
            args.append(("count", .int(count)))
        case let .stop(stop):
            name = stop.source == Stop.afterFailure
                ? "the launcher stopped the other ranks (\(stop.signal))"
                : "stopped by the user (\(stop.signal))\(stop.by.map { " by \($0)" } ?? "")"
            category = "stop"
            if let reason = stop.reason { args.append(("reason", .string(reason))) }
        case let .collector(record):
            // Only a restart is worth a mark: the previous collector died, and the log's gap is
            // its doing. (The model has already folded this start.)
            let sessions = model.collectorSessions
            guard record.state == .start, sessions.count >= 2, let died = sessions[sessions.count - 2].diedAt else { return }
            name = "collector restarted (pid \(record.pid)): the previous one died"
            category = "collector"
            args.append(("died_at", .double(died)))
        default:
            return
        }
        if !runNamed {
            runNamed = true
            out.append(TraceEvent.metadata("process_name", pid: 0, args: [("name", .string("run"))]))
            out.append(TraceEvent.metadata("process_sort_index", pid: 0, args: [("sort_index", .int(0))]))
            out.append(TraceEvent.metadata("thread_name", pid: 0, tid: ChromeTrace.runThread, args: [("name", .string("collector"))]))
        }
        var instant = TraceEvent.instant(
            name, category: category, ts: TraceEvent.micros(event.ts), pid: 0, tid: ChromeTrace.runThread, global: true, args: args
        )
        instant.clamp(notBefore: runWritten)
        runWritten = instant.ts
        out.append(instant)
    }
}

/// What the trace follows of a rank in the model, read in place (a whole `RankInfo` copied per
/// event would cost more than the rest of the conversion).
struct RankState {
    var barrier: RankBarrier?
    var phase: RankPhase?
    /// The blocking collective it is in.
    var collective: RankCollective?
    /// The last time it moved on (or its first event).
    var activity: Double?
    var terminal: Bool
    var restarts: Int
    var dropped: Int

    init?(_ model: RunModel, _ rank: Int) {
        let slots = model.rankSlots
        guard rank < slots.count, let status = slots[rank]?.status else { return nil }
        barrier = slots[rank]?.barrier
        phase = slots[rank]?.phase
        collective = (slots[rank]?.collectives.isEmpty ?? true) ? nil : slots[rank]?.currentCollective.flatMap { $0.isAsync ? nil : $0 }
        activity = slots[rank]?.lastActivityTs ?? slots[rank]?.firstTs
        terminal = status.isTerminal
        restarts = slots[rank]?.restarts ?? 0
        dropped = slots[rank]?.dropped ?? 0
    }
}
