import RanktopProtocol

/// A moment of a run worth jumping to in a replay: where it went wrong, or where someone acted.
public struct NotableMoment: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A barrier or collective that became late and never completed.
        case hang
        /// A barrier or collective that became late and completed in the end.
        case straggler
        /// Ranks alive but no longer progressing, outside any late wait.
        case stall
        /// A trigger set, fired or injected, or the user's stop.
        case trigger
        /// A rank that exited with an error.
        case failure
        /// A lost or unreachable rank, dropped or discarded events.
        case loss
        /// Ranks that called different barriers or collectives.
        case mismatch
    }

    /// When, on the run's clock (the newest timestamp folded so far).
    public var time: Double
    public var kind: Kind
    public var text: String

    public init(time: Double, kind: Kind, text: String) {
        self.time = time
        self.kind = kind
        self.text = text
    }
}

/// Finds a run's notable moments while its log is folded, with the rules the screen uses: a
/// wait is late, and a rank stalled, when `RunSnapshot` (by `StallPolicy`) says its ranks are
/// stalled, judged at least once a second of the run's clock. A late wait is marked when it
/// became late, and said to hang or to have straggled once its end (or the log's) is known.
/// Bounded: past `limit` moments, the rest are only counted.
public struct NotableMomentFinder: Sendable {
    public private(set) var moments: [NotableMoment] = []
    /// Moments past `limit`, not kept.
    public private(set) var overflow = 0
    public let stallPolicy: StallPolicy
    public let limit: Int

    private var nextCheck = -Double.infinity
    private var lastCheck: Double?
    private var stalledBefore: Set<Int> = []
    private enum WaitID: Hashable { case barrier(Int), collective(CollectiveKey) }
    /// Late waits still open: where their moment is in `moments`, and what the wait is called.
    private var lateWaits: [WaitID: (index: Int, subject: String)] = [:]
    private var firedChecks: Set<Int> = []
    private var mismatched: Set<WaitID> = []
    /// The last dropped-events moment per rank: a flood of drops is one moment per ten seconds.
    private var lastDropMoment: [Int: Double] = [:]

    public init(stallPolicy: StallPolicy = .standard, limit: Int = 10_000) {
        self.stallPolicy = stallPolicy
        self.limit = limit
    }

    /// Seconds of the run's clock between two judgements of stalls and late waits: one a second,
    /// longer for very large worlds (a judgement is O(world)).
    static func checkInterval(world: Int) -> Double { max(1, Double(world) / 256) }

    /// Before `model` folds `event`: the run's clock moves on to the event's time with nothing
    /// else happening, so what became late or stalled in the gap is judged on the model as it
    /// stood, at the moment it did.
    public mutating func willFold(_ event: Event, model: RunModel) {
        guard model.lastTs != nil, event.ts >= nextCheck else { return }
        check(model: model, now: event.ts, searchFrom: lastCheck)
    }

    /// Looks at `event`, which `model` has just folded.
    public mutating func observe(_ event: Event, model: RunModel) {
        let rank = event.rank
        switch event.body {
        case let .triggerSet(set):
            add(event.ts, .trigger, "rank \(rank) set the trigger" + (set.reason.map { ": \($0)" } ?? ""))
        case let .triggerCheck(n, fired):
            if fired, firedChecks.insert(n).inserted { add(event.ts, .trigger, "the trigger fired at check #\(n)") }
        case let .inject(injection):
            add(event.ts, .trigger, "trigger injected" + (injection.by.map { " by \($0)" } ?? "") + (injection.reason.map { ": \($0)" } ?? ""))
        case let .stop(stop):
            add(event.ts, .trigger, "the run was stopped (\(stop.signal))" + (stop.reason.map { ": \($0)" } ?? ""))
        case let .bye(code, error):
            if (code ?? 0) != 0 || error != nil {
                var text = "rank \(rank) failed"
                if let code { text += " with exit code \(code)" }
                if let error { text += ": \(error)" }
                add(event.ts, .failure, text)
            }
        case let .lost(reason):
            add(event.ts, .loss, "rank \(rank) lost: \(reason)")
        case let .unreachable(reason):
            add(event.ts, .loss, "rank \(rank) unreachable: \(reason)")
        case let .dropped(count):
            if lastDropMoment[rank].map({ event.ts - $0 >= 10 }) ?? true {
                lastDropMoment[rank] = event.ts
                add(event.ts, .loss, "rank \(rank) dropped \(count) event\(count == 1 ? "" : "s")")
            }
        case let .discarded(count, reason):
            add(event.ts, .loss, "the collector discarded \(count) line\(count == 1 ? "" : "s")" + (reason.map { ": \($0)" } ?? ""))
        case let .collector(record):
            // At the restart, not the death: moments are found, and kept, in the log's order.
            let sessions = model.collectorSessions
            if record.state == .start, sessions.count >= 2, let died = sessions[sessions.count - 2].diedAt {
                add(event.ts, .loss, "a new collector started; the previous one died \(Format.duration(max(event.ts - died, 0))) earlier")
            }
        case let .barrierEnter(enter):
            if model.openBarriers[enter.n]?.hasMismatch == true, mismatched.insert(.barrier(enter.n)).inserted {
                add(event.ts, .mismatch, "barrier #\(enter.n): ranks gave different names")
            }
        case let .collectiveEnter(enter):
            let key = CollectiveKey(group: enter.group, n: enter.n)
            if model.collectiveGroups[enter.group]?.open[enter.n]?.hasMismatch == true, mismatched.insert(.collective(key)).inserted {
                add(event.ts, .mismatch, "collective #\(enter.n) of group \(Format.quoted(enter.group, max: 40)): ranks called different ops")
            }
        default:
            break
        }
        if let now = model.lastTs, now >= nextCheck { check(model: model, now: now) }
    }

    /// The end of the log: late waits still open hang.
    public mutating func finish(model: RunModel) {
        if let now = model.lastTs { check(model: model, now: now) }
    }

    /// Judges stalls and late waits at `now`. With `searchFrom`, the model did not change since
    /// then: a rank that is stalled now became so somewhere in between, found by bisection
    /// (stalled-ness only grows with time on a model that does not change).
    private mutating func check(model: RunModel, now: Double, searchFrom: Double? = nil) {
        nextCheck = now + NotableMomentFinder.checkInterval(world: model.world)
        lastCheck = now
        settleLateWaits(model: model, now: now)
        var now = now
        var snapshot = RunSnapshot(model: model, now: now, stallPolicy: stallPolicy)
        if let from = searchFrom, from < now, !Set(snapshot.stalled).isSubset(of: stalledBefore) {
            var (lo, hi) = (from, now)
            while hi - lo > 0.05 {
                let mid = (lo + hi) / 2
                if Set(RunSnapshot(model: model, now: mid, stallPolicy: stallPolicy).stalled).isSubset(of: stalledBefore) { lo = mid } else { hi = mid }
            }
            now = hi
            snapshot = RunSnapshot(model: model, now: now, stallPolicy: stallPolicy)
        }
        let stalled = Set(snapshot.stalled)
        var newlyStalled = stalled.subtracting(stalledBefore)
        stalledBefore = stalled
        guard !newlyStalled.isEmpty else { return }
        for wait in snapshot.openWaits where lateWaits[.barrier(wait.n)] == nil {
            let waiting = Set(wait.arrived).intersection(stalled)
            guard !waiting.isEmpty else { continue }
            newlyStalled.subtract(wait.arrived)
            var subject = "barrier #\(wait.n)"
            if let name = wait.name { subject += " \(Format.quoted(name, max: 40))" }
            let text = subject + " late: \(wait.arrived.count) waiting, missing \(wait.missing.text(limit: 8))"
            if let index = add(now, .hang, text) { lateWaits[.barrier(wait.n)] = (index, subject) }
        }
        for collective in snapshot.openCollectives {
            let id = WaitID.collective(CollectiveKey(group: collective.group, n: collective.n))
            guard lateWaits[id] == nil, !Set(collective.arrived).isDisjoint(with: stalled) else { continue }
            newlyStalled.subtract(collective.arrived)
            var subject = "\(collective.op) #\(collective.n)"
            if collective.group != CollectiveGroup.world { subject += " of group \(Format.quoted(collective.group, max: 40))" }
            if let label = collective.label { subject += " (\(label))" }
            var text = subject + " late: \(collective.arrived.count) inside"
            if let missing = collective.missing, !missing.isEmpty { text += ", missing \(missing.text(limit: 8))" }
            if let index = add(now, .hang, text) { lateWaits[id] = (index, subject) }
        }
        guard !newlyStalled.isEmpty else { return }
        let ranks = RankSet(newlyStalled.sorted())
        if snapshot.stall != nil, newlyStalled.count == stalled.count {
            add(now, .stall, "the run stalled" + (snapshot.stall?.step.map { " at step \($0)" } ?? "") + ": no rank progressing")
        } else {
            add(now, .stall, Format.ranksLabelled(ranks, limit: 8) + " stalled")
        }
    }

    /// Late waits that completed since the last look straggled: said so, with who came last.
    private mutating func settleLateWaits(model: RunModel, now: Double) {
        for (id, late) in lateWaits {
            var text = late.subject + " completed late"
            switch id {
            case let .barrier(n):
                guard model.openBarriers[n] == nil else { continue }
                if let summary = model.completedBarriers.last(where: { $0.n == n }), let straggler = summary.straggler {
                    text += ": rank \(straggler) came last, \(Format.duration(summary.waitCaused)) after the first"
                }
            case let .collective(key):
                guard model.collectiveGroups[key.group]?.open[key.n] == nil else { continue }
            }
            moments[late.index].text = text
            moments[late.index].kind = .straggler
            lateWaits[id] = nil
        }
    }

    @discardableResult
    private mutating func add(_ time: Double, _ kind: NotableMoment.Kind, _ text: String) -> Int? {
        guard moments.count < limit else {
            overflow += 1
            return nil
        }
        moments.append(NotableMoment(time: time, kind: kind, text: text))
        return moments.count - 1
    }
}
