import DequeModule
import RanktopProtocol

/// The state of a run, derived from its events by one pure reducer: `apply` is the only way in.
/// The live view, replay and report all fold events through it, so they cannot disagree.
///
/// Memory stays bounded on week-long runs: completed barriers, phases and trigger checks are folded
/// into summaries and counters, and every history kept here has a fixed capacity. The raw history
/// belongs to the event log.
public struct RunModel: Sendable {
    public struct Limits: Sendable {
        /// Recent events kept per rank and for the whole run (0 for reports, which need none).
        public var recentEvents: Int
        public var completedBarriers: Int
        public var phases: Int
        public var firings: Int
        public var mismatches: Int
        /// Points of the run's step-time and loss charts (`StepSeries`); 0 keeps none (a report
        /// draws no chart, and its first pass should not pay for one).
        public var seriesPoints: Int

        public init(
            recentEvents: Int = 0, completedBarriers: Int = 64, phases: Int = 512, firings: Int = 1024, mismatches: Int = 256,
            seriesPoints: Int = 0
        ) {
            self.seriesPoints = seriesPoints
            self.recentEvents = recentEvents
            self.completedBarriers = completedBarriers
            self.phases = phases
            self.firings = firings
            self.mismatches = mismatches
        }

        /// What the dashboard keeps: a few screens of events.
        public static let live = Limits(recentEvents: 32, seriesPoints: 256)
        public static let report = Limits()
    }

    public let limits: Limits

    public internal(set) var run: String?
    /// Runs other than `run` whose ranks said hello in the same log (a shared `serve`); their
    /// ranks share numbers with the first run's, so what is derived per rank mixes them.
    public internal(set) var otherRuns: [String] = []
    /// Largest world any `hello` announced.
    public internal(set) var announcedWorld: Int?
    /// Largest collective timeout any `hello` announced, in seconds.
    public internal(set) var timeout: Double?
    public internal(set) var firstTs: Double?
    public internal(set) var lastTs: Double?
    public internal(set) var eventCount = 0
    /// Events by the second of their timestamp: the ev/s figure (`eventsPerSecond(at:)`).
    public internal(set) var eventSeconds = EventSeconds()
    /// Events by kind, indexed by `EventKind.ordinal`.
    var kindCounts = [Int](repeating: 0, count: EventKind.count)

    /// Ranks by rank number; nil where nothing was heard yet.
    public internal(set) var rankSlots: [RankInfo?] = []
    /// Restart generation of the run (`hello.restart`); events of older attempts are folded away.
    public internal(set) var generation = 0

    public internal(set) var openBarriers: [Int: BarrierInstance] = [:]
    public internal(set) var completedBarriers: BoundedHistory<BarrierSummary>
    public internal(set) var completedBarrierCount = 0
    public internal(set) var stragglerStats: [Int: StragglerStats] = [:]
    /// Mismatches of completed barriers; open ones are derived when asked (see `mismatches`).
    var foldedMismatches: [Int: [String: [Int]]] = [:]
    /// Ranks heard from, and ranks now exited, failed or lost: barrier completion needs both.
    var heardRanks = 0
    var terminalRanks = 0

    /// Barrier ordinal -> name -> ranks, for barriers where ranks gave different names.
    public var mismatches: [Int: [String: [Int]]] {
        var all = foldedMismatches
        for instance in openBarriers.values {
            if let mismatch = instance.mismatch { all[instance.n] = mismatch }
        }
        return all
    }

    /// Process groups by name, each with its open collectives.
    public internal(set) var collectiveGroups: [String: CollectiveGroup] = [:]
    public internal(set) var completedCollectiveCount = 0
    /// Op mismatches of completed collectives; open ones are derived when asked.
    var foldedCollectiveMismatches: [CollectiveKey: [String: [Int]]] = [:]

    /// (group, n) -> op -> ranks, for collectives whose members called different ops or sizes.
    public var collectiveMismatches: [CollectiveKey: [String: [Int]]] {
        var all = foldedCollectiveMismatches
        for group in collectiveGroups.values {
            for instance in group.open.values {
                if let mismatch = instance.mismatch { all[instance.key] = mismatch }
            }
        }
        return all
    }

    /// Every open collective, oldest ordinal first within each group, groups by name.
    public var openCollectives: [CollectiveInstance] {
        collectiveGroups.keys.sorted().flatMap { name in
            collectiveGroups[name]!.open.values.sorted { $0.key.n < $1.key.n }
        }
    }

    public internal(set) var phases: [PhaseInstance] = []
    var phaseIndex: [PhaseKey: Int] = [:]
    public internal(set) var phasesFolded = 0

    public internal(set) var firings: [TriggerFiring] = []
    var firingIndex: [Int: Int] = [:]
    public internal(set) var firingsFolded = 0
    /// Trigger sets not yet followed by a firing check, keyed by the check ordinal they belong to.
    public internal(set) var pendingCauses: [Int: [TriggerCause]] = [:]
    public internal(set) var injections: [PendingInjection] = []
    /// Lines the collector could not keep (a full disk), and why it said so the last time.
    public internal(set) var collectorDiscarded = 0
    public internal(set) var collectorDiscardReason: String?

    /// The launcher's `stop`: the user asked to stop the run (the first such event counts).
    public internal(set) var stop: StopRequest?
    /// The collectors that wrote this log, oldest first (a restarted one appends a session).
    public internal(set) var collectorSessions: [CollectorSession] = []

    public internal(set) var recentEvents: BoundedHistory<Event>
    /// Step time and loss over the run, min / median / max across ranks (kept when `limits.seriesPoints` > 0).
    public internal(set) var stepTimeSeries: StepSeries
    /// The wait each recent blocking collective cost, from its first arrival to its last (kept
    /// with the series, for the charts).
    public internal(set) var completedCollectiveWaits: BoundedHistory<CollectiveWait>
    public internal(set) var lossSeries: StepSeries
    public internal(set) var recentLogs = BoundedHistory<Event>(capacity: 64)

    public init(limits: Limits = .report) {
        self.limits = limits
        self.completedBarriers = BoundedHistory(capacity: limits.completedBarriers)
        self.recentEvents = BoundedHistory(capacity: limits.recentEvents * 8)
        stepTimeSeries = StepSeries(capacity: limits.seriesPoints)
        completedCollectiveWaits = BoundedHistory(capacity: limits.seriesPoints)
        lossSeries = StepSeries(capacity: limits.seriesPoints)
    }

    /// The world size: what `hello` announced, or the ranks seen when none did.
    public var world: Int {
        max(announcedWorld ?? 0, rankSlots.count)
    }

    public var ranks: [RankInfo] { rankSlots.compactMap { $0 } }

    public func count(of kind: EventKind) -> Int { kindCounts[kind.ordinal] }

    public func rank(_ r: Int) -> RankInfo? {
        r >= 0 && r < rankSlots.count ? rankSlots[r] : nil
    }

    /// Ranks of the world never heard from.
    public var silentRanks: [Int] { Array(silentRankSet) }

    /// The same as ranges: sized by the ranks heard, not by the world a hello announced.
    public var silentRankSet: RankSet { silentRankSet(world: world) }

    /// Ranks of `0..<world` never heard from (a launcher may know a larger world than the hellos).
    public func silentRankSet(world: Int) -> RankSet {
        RankSet.complement(of: rankSlots.indices.filter { rankSlots[$0] != nil }, in: world)
    }

    public var nodes: [String] {
        Array(Set(rankSlots.compactMap { $0?.node })).sorted()
    }

    /// Saturates: a hostile `dropped` count must not trap every reader of the log.
    public var droppedTotal: Int { rankSlots.reduce(0) { $0.saturatingAdd($1?.dropped ?? 0) } }

    public var openBarriersByN: [BarrierInstance] { openBarriers.values.sorted { $0.n < $1.n } }

    /// Events a second just before `now`, by their timestamps.
    public func eventsPerSecond(at now: Double) -> Double { eventSeconds.perSecond(at: now) }

    /// Injections not yet applied by any rank.
    public var pendingInjections: [PendingInjection] { injections.filter { $0.appliedAt == nil } }

    /// Folds one event into the state.
    public mutating func apply(_ event: Event) {
        eventCount += 1
        eventSeconds.record(event.ts)
        let kind = event.kind
        kindCounts[kind.ordinal] += 1
        if firstTs.map({ event.ts < $0 }) ?? true { firstTs = event.ts }
        let lastTsBefore = lastTs
        if lastTs.map({ event.ts > $0 }) ?? true { lastTs = event.ts }
        // Heartbeats say only "alive"; kept, they would crowd every other event out.
        if limits.recentEvents > 0, kind != .heartbeat { recentEvents.append(event) }

        guard event.rank >= 0 else {
            applyRunWide(event, lastTsBefore: lastTsBefore)
            return
        }
        if applyInPlace(event, kind: kind) { return }
        // The rank's state is out of `rankSlots` while it is updated (see `isSettled`), and kept
        // as an optional throughout: unwrapped in place, the large value is not copied through
        // more temporaries than it must be.
        var slot = takeRank(event.rank, ts: event.ts)
        let wasTerminal = slot!.status.isTerminal
        apply(event, to: &slot!)
        let isTerminal = slot!.status.isTerminal
        rankSlots[event.rank] = consume slot
        if isTerminal != wasTerminal {
            terminalRanks += isTerminal ? 1 : -1
            if isTerminal {
                settleOpenBarriers()
                settleCollectives(afterEnd: event.rank)
            }
        }
    }

    /// The events that make up nearly all of a log (a heartbeat, a check that did not fire, a
    /// progress of a rank inside no barrier or collective) change nothing but their own rank's
    /// state and cannot end it: they are applied where the rank's state lies, in `rankSlots`,
    /// instead of moving it out and back (about 800 bytes each way). Exactly what the general
    /// path does for them; false, having done nothing, for every other event.
    private mutating func applyInPlace(_ event: Event, kind: EventKind) -> Bool {
        let r = event.rank
        guard r < rankSlots.count, rankSlots[r] != nil else { return false }
        // One access to the rank's state each (every `rankSlots[r]!` reads the optional's tag,
        // an outlined call for a struct this size).
        switch event.body {
        case .heartbeat:
            RunModel.applyToRank(event, kind: kind, limits: limits, to: &rankSlots[r]!)
        case let .triggerCheck(n, false):
            RunModel.applyUnfiredCheckInPlace(event, n, kind: kind, limits: limits, to: &rankSlots[r]!)
            if !pendingCauses.isEmpty { pendingCauses[n] = nil }
        case let .progress(progress):
            let before = (step: rankSlots[r]!.step, ts: rankSlots[r]!.lastProgressTs)
            guard RunModel.applyFreeProgress(event, progress, kind: kind, limits: limits, to: &rankSlots[r]!) else { return false }
            if limits.seriesPoints > 0 { noteSeries(progress, ts: event.ts, stepBefore: before.step, tsBefore: before.ts) }
            return true
        default:
            return false
        }
        return true
    }

    private static func applyUnfiredCheckInPlace(_ event: Event, _ n: Int, kind: EventKind, limits: Limits, to info: inout RankInfo) {
        applyToRank(event, kind: kind, limits: limits, to: &info)
        applyUnfiredCheck(n, to: &info)
    }

    /// A progress of a rank inside no barrier and no collective; false, having done nothing,
    /// for any other rank.
    private static func applyFreeProgress(_ event: Event, _ progress: Progress, kind: EventKind, limits: Limits, to info: inout RankInfo) -> Bool {
        guard info.barrier == nil, info.collectives.isEmpty else { return false }
        applyToRank(event, kind: kind, limits: limits, to: &info)
        applyProgressToRank(progress, to: &info, ts: event.ts)
        // `updateWaitingStatus()` with no barrier and no collective (checked above).
        if !info.status.isTerminal { info.status = .running }
        return true
    }

    /// What every event of a rank does to the rank's own state, whatever its kind.
    private static func applyToRank(_ event: Event, kind: EventKind, limits: Limits, to info: inout RankInfo) {
        info.lastTs = max(info.lastTs, event.ts)
        trackSeq(&info, event, kind: kind)
        if limits.recentEvents > 0, kind != .heartbeat { info.recentEvents.append(event) }
        if kind != .heartbeat, kind != .stack {
            info.lastActivityKind = kind
            info.lastActivityKindTs = event.ts
        }
        if kind != .unreachable, info.unreachable != nil { info.unreachable = nil }
    }

    private mutating func apply(_ event: Event, to info: inout RankInfo) {
        let kind = event.kind
        RunModel.applyToRank(event, kind: kind, limits: limits, to: &info)
        switch event.body {
        case let .hello(hello):
            applyHello(hello, to: &info, seq: event.seq)
        case let .progress(progress):
            let before = (step: info.step, ts: info.lastProgressTs)
            applyProgress(progress, to: &info, ts: event.ts)
            if limits.seriesPoints > 0 { noteSeries(progress, ts: event.ts, stepBefore: before.step, tsBefore: before.ts) }
        case let .barrierEnter(enter):
            if let site = enter.site { info.lastSite = site }
            applyBarrierEnter(enter, to: &info, ts: event.ts)
        case let .barrierExit(n):
            applyBarrierExit(n, to: &info, ts: event.ts)
        case let .phaseEnter(enter):
            applyPhaseEnter(enter, to: &info, ts: event.ts)
        case let .phaseExit(name):
            applyPhaseExit(name, to: &info, ts: event.ts)
        case let .triggerSet(set):
            applyTriggerSet(set, to: &info, ts: event.ts)
        case let .triggerCheck(n, fired):
            applyTriggerCheck(n, fired: fired, to: &info, ts: event.ts)
        case let .log(level, msg):
            info.lastLog = (level, msg, event.ts)
            recentLogs.append(event)
        case .heartbeat:
            break
        case let .stack(id, frames):
            info.lastStack = StackSample(id: id, frames: frames, ts: event.ts)
        case let .collectiveEnter(enter):
            if let site = enter.site { info.lastSite = site }
            applyCollectiveEnter(enter, to: &info, ts: event.ts)
        case let .collectiveExit(exit):
            applyCollectiveExit(exit, to: &info, ts: event.ts)
        case let .bye(code, error):
            info.exitCode = code
            info.error = error
            let clean = error == nil && (code ?? 0) == 0
            info.status = clean ? .exited : stop != nil && RunModel.isSignalDeath(code) ? .stopped : .failed
            if !clean { recentLogs.append(event) }
        case let .lost(reason):
            info.lostReason = reason
            // After a stop, a rank that vanished without bye was most likely killed by it.
            info.status = stop != nil ? .stopped : .lost
            recentLogs.append(event)
        case let .unreachable(reason):
            if !info.status.isTerminal { info.unreachable = (event.ts, reason) }
            recentLogs.append(event)
        case let .dropped(count):
            info.reportedDrops = info.reportedDrops.saturatingAdd(count)
        case .inject, .discarded, .stop, .collector:
            break
        }
    }

    /// 128 + a signal number: how shells (and ranks' `bye`) say a process died of a signal.
    static func isSignalDeath(_ code: Int?) -> Bool {
        guard let code else { return false }
        return code > 128 && code <= 128 + 64
    }

    /// The slot for `rank`, created on first sight; taken out so it is mutated in place.
    /// Never nil: an optional only so that it is moved, not unwrapped into a copy.
    private mutating func takeRank(_ rank: Int, ts: Double) -> RankInfo? {
        if rank >= rankSlots.count {
            rankSlots.append(contentsOf: repeatElement(nil, count: rank + 1 - rankSlots.count))
        }
        // Moved out, not copied: a copy would retain and release every field of the rank.
        let existing = rankSlots[rank].take()
        if existing != nil { return existing }
        heardRanks += 1
        return RankInfo(rank: rank, ts: ts, recentEventLimit: limits.recentEvents)
    }

    private static func trackSeq(_ info: inout RankInfo, _ event: Event, kind: EventKind) {
        guard let seq = event.seq, kind != .lost, kind != .unreachable, kind != .dropped, kind != .hello else { return }
        if let expected = info.nextSeq, seq > expected {
            info.gapDrops = info.gapDrops.saturatingAdd(seq - expected)
        }
        info.nextSeq = max(info.nextSeq ?? 0, seq.saturatingAdd(1))
    }

    private mutating func applyRunWide(_ event: Event, lastTsBefore: Double?) {
        switch event.body {
        case let .inject(injection):
            if !injections.contains(where: { $0.id == injection.id }) {
                injections.append(PendingInjection(id: injection.id, reason: injection.reason, by: injection.by, ts: event.ts))
                if injections.count > limits.firings { injections.removeFirst() }
            }
        case .log:
            recentLogs.append(event)
        case let .discarded(count, reason):
            collectorDiscarded = collectorDiscarded.saturatingAdd(count)
            collectorDiscardReason = reason
            recentLogs.append(event)
            // The gap in each rank's `seq` that follows is the collector's loss, not the rank's.
            for r in rankSlots.indices { rankSlots[r]?.nextSeq = nil }
        case let .stop(request):
            if stop == nil {
                stop = StopRequest(signal: request.signal, by: request.by, reason: request.reason, ts: event.ts, afterFailure: request.source == Stop.afterFailure)
            }
            recentLogs.append(event)
        case let .collector(record):
            applyCollectorRecord(record, ts: event.ts, lastTsBefore: lastTsBefore)
        default:
            break
        }
    }
}
