import RanktopModel
import RanktopProtocol

/// Turns events into Chrome trace events (the JSON that Perfetto and chrome://tracing open): one
/// track per rank, grouped by node; barrier waits and main-first phases as spans, trigger
/// firings, failures and injections as instants, steps as a counter.
///
/// The spans are the model's: every event is folded into a `RunModel`, and a span opens and
/// closes where the rank's barrier or phase in the model does, so implied exits, restarts and
/// dropped events are handled by the same rules as the report's. Streaming: the model is
/// bounded, so a log of any length converts in constant memory.
public struct ChromeTrace: Sendable {
    private var model = RunModel(limits: .report)
    private struct OpenSpan: Sendable {
        var name: String
        var ts: Double
        var args: [(String, JSONValue)]
    }

    private var nodePids: [String: Int] = [:]
    private var pidByRank: [Int: Int] = [:]
    private var openBarrier: [Int: OpenSpan] = [:]
    private var openPhase: [Int: OpenSpan] = [:]
    private var openCollective: [Int: (key: CollectiveKey, span: OpenSpan)] = [:]
    private var lastTs = 0.0

    public init() {}

    /// The trace events one protocol event becomes (often none).
    public mutating func convert(_ event: Event) -> [JSONValue] {
        lastTs = max(lastTs, event.ts)
        let rank = event.rank
        let before = model.rank(rank).map { (barrier: $0.barrier, phase: $0.phase, collective: ChromeTrace.blocking($0)) }
        model.apply(event)
        let after = model.rank(rank).map { (barrier: $0.barrier, phase: $0.phase, collective: ChromeTrace.blocking($0)) }
        var spans: [JSONValue] = []
        if rank >= 0 {
            spans += barrierSpans(rank: rank, was: before?.barrier ?? nil, now: after?.barrier ?? nil, ts: event.ts)
            spans += phaseSpans(rank: rank, was: before?.phase ?? nil, now: after?.phase ?? nil, ts: event.ts)
            spans += collectiveSpans(rank: rank, now: after?.collective ?? nil, ts: event.ts)
        }
        return spans + instants(event)
    }

    /// A barrier span closes when the model says the rank left it (an exit, or one implied by a
    /// later event), and opens when the model says it entered one.
    private mutating func barrierSpans(rank: Int, was: RankBarrier?, now: RankBarrier?, ts: Double) -> [JSONValue] {
        guard was != now else { return [] }
        var out: [JSONValue] = []
        if was != nil, was?.n != now?.n || now == nil, let span = openBarrier.removeValue(forKey: rank) {
            out.append(complete(span, rank: rank, end: ts, category: "barrier"))
        }
        if let now, was?.n != now.n {
            var name = "barrier #\(now.n)"
            if let label = now.name { name += " \(label)" }
            var args: [(String, JSONValue)] = [("n", .int(now.n))]
            if let site = now.site { args.append(("site", .string(site))) }
            openBarrier[rank] = OpenSpan(name: name, ts: now.since, args: args)
        }
        return out
    }

    /// The blocking collective a rank is in: async ops in flight overlap the work they hide behind,
    /// so only the calls that block the rank's thread are spans on its track.
    private static func blocking(_ info: RankInfo) -> RankCollective? {
        guard let current = info.currentCollective, !current.isAsync else { return nil }
        return current
    }

    private mutating func collectiveSpans(rank: Int, now: RankCollective?, ts: Double) -> [JSONValue] {
        let key = now.map { CollectiveKey(group: $0.group, n: $0.n) }
        guard openCollective[rank]?.key != key else { return [] }
        var out: [JSONValue] = []
        if let open = openCollective.removeValue(forKey: rank) {
            out.append(complete(open.span, rank: rank, end: ts, category: "collective"))
        }
        if let now, let key {
            var name = "\(now.op) #\(now.n)"
            if let label = now.label { name += " \(label)" }
            var args: [(String, JSONValue)] = [("group", .string(now.group)), ("seq", .int(now.n))]
            if let site = now.site { args.append(("site", .string(site))) }
            openCollective[rank] = (key, OpenSpan(name: name, ts: now.since, args: args))
        }
        return out
    }

    /// A phase span covers the rank's time in one occurrence of a main-first phase, as the model
    /// tracks it (its parts are the same span).
    private mutating func phaseSpans(rank: Int, was: RankPhase?, now: RankPhase?, ts: Double) -> [JSONValue] {
        let same = was.map { w in now.map { $0.name == w.name && $0.occurrence == w.occurrence } ?? false } ?? (now == nil)
        guard !same else { return [] }
        var out: [JSONValue] = []
        if was != nil, let span = openPhase.removeValue(forKey: rank) {
            out.append(complete(span, rank: rank, end: ts, category: "phase"))
        }
        if let now {
            let part = now.main ? "main part" : "after main"
            openPhase[rank] = OpenSpan(name: "\(now.name) (\(part))", ts: now.since, args: [("mode", .string(now.mode.rawValue))])
        }
        return out
    }

    /// The instants and counters an event is, whatever the model made of it.
    private mutating func instants(_ event: Event) -> [JSONValue] {
        let rank = event.rank
        switch event.body {
        case let .hello(hello):
            let isNewNode = nodePids[hello.node] == nil
            let pid = nodePids[hello.node] ?? (nodePids.count + 1)
            nodePids[hello.node] = pid
            pidByRank[rank] = pid
            var out: [JSONValue] = []
            if isNewNode { out.append(metadata("process_name", pid: pid, tid: nil, name: hello.node)) }
            out.append(metadata("thread_name", pid: pid, tid: rank, name: "rank \(rank)"))
            out.append(metadata("thread_sort_index", pid: pid, tid: rank, sortIndex: rank))
            return out
        case let .progress(progress):
            return [.object([
                ("name", .string("step")), ("ph", .string("C")), ("ts", micros(event.ts)),
                ("pid", .int(pid(rank))), ("args", .object([("rank \(rank)", .int(progress.step))])),
            ])]
        case let .triggerSet(set):
            let who = set.source == .manual ? "manual \(set.id ?? "")" : "code"
            return [instant("trigger set (\(who))\(set.reason.map { ": \($0)" } ?? "")", rank: rank, ts: event.ts)]
        case let .triggerCheck(n, fired):
            return fired ? [instant("trigger fired at check #\(n)", rank: rank, ts: event.ts)] : []
        case let .bye(code, error):
            guard error != nil || (code ?? 0) != 0 else { return [instant("exit", rank: rank, ts: event.ts)] }
            return [instant("failed: \(error ?? "exit code \(code ?? 0)")", rank: rank, ts: event.ts)]
        case let .lost(reason):
            return [instant("lost: \(reason)", rank: rank, ts: event.ts)]
        case let .unreachable(reason):
            return [instant("unreachable: \(reason)", rank: rank, ts: event.ts)]
        case let .inject(injection):
            return [global("inject \(injection.id)\(injection.by.map { " by \($0)" } ?? "")", ts: event.ts)]
        case let .discarded(count, reason):
            return [global("collector discarded \(count) events\(reason.map { ": \($0)" } ?? "")", ts: event.ts)]
        case let .stop(stop):
            return [global("stopped by the user (\(stop.signal))\(stop.by.map { " by \($0)" } ?? "")", ts: event.ts)]
        case .log, .heartbeat, .stack, .dropped, .barrierEnter, .barrierExit, .phaseEnter, .phaseExit, .collectiveEnter, .collectiveExit:
            return []
        }
    }

    /// Spans still open when the log ends (the hang), closed at the last timestamp and marked.
    public mutating func finish() -> [JSONValue] {
        var out: [JSONValue] = []
        for (rank, span) in openBarrier.sorted(by: { $0.key < $1.key }) {
            var open = span
            open.name += " (still open)"
            out.append(complete(open, rank: rank, end: lastTs, category: "barrier"))
        }
        for (rank, span) in openPhase.sorted(by: { $0.key < $1.key }) {
            var open = span
            open.name += " (still open)"
            out.append(complete(open, rank: rank, end: lastTs, category: "phase"))
        }
        for (rank, open) in openCollective.sorted(by: { $0.key < $1.key }) {
            var span = open.span
            span.name += " (still open)"
            out.append(complete(span, rank: rank, end: lastTs, category: "collective"))
        }
        openBarrier = [:]
        openPhase = [:]
        openCollective = [:]
        return out
    }

    private func pid(_ rank: Int) -> Int { pidByRank[rank] ?? 0 }

    /// An instant that marks the whole run, not one rank.
    private func global(_ name: String, ts: Double) -> JSONValue {
        .object([("name", .string(name)), ("ph", .string("i")), ("s", .string("g")), ("ts", micros(ts)), ("pid", .int(0)), ("tid", .int(0))])
    }

    private func micros(_ ts: Double) -> JSONValue { .double((ts * 1_000_000).rounded()) }

    private func complete(_ span: OpenSpan, rank: Int, end: Double, category: String) -> JSONValue {
        .object([
            ("name", .string(span.name)), ("cat", .string(category)), ("ph", .string("X")),
            ("ts", micros(span.ts)), ("dur", micros(max(0, end - span.ts))),
            ("pid", .int(pid(rank))), ("tid", .int(rank)), ("args", .object(span.args)),
        ])
    }

    private func instant(_ name: String, rank: Int, ts: Double) -> JSONValue {
        .object([
            ("name", .string(name)), ("ph", .string("i")), ("s", .string("t")), ("ts", micros(ts)),
            ("pid", .int(pid(rank))), ("tid", .int(rank)),
        ])
    }

    private func metadata(_ kind: String, pid: Int, tid: Int?, name: String? = nil, sortIndex: Int? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [("name", .string(kind)), ("ph", .string("M")), ("pid", .int(pid))]
        if let tid { members.append(("tid", .int(tid))) }
        if let name { members.append(("args", .object([("name", .string(name))]))) }
        if let sortIndex { members.append(("args", .object([("sort_index", .int(sortIndex))]))) }
        return .object(members)
    }
}
