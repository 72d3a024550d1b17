import RanktopProtocol

/// How much one rank holds the run back, computed from what the ranks reported and never
/// through the job's own collectives (which hang when a rank does): its median recent step time,
/// less what it waited for the others (`RankInfo.typicalBusyTime`), relative to the run's median
/// (as nvidia-resiliency-ext's relative performance scores), and
/// the others' waiting it caused, as the last to arrive at completed barriers and collectives.
public struct StragglerScore: Sendable, Equatable {
    public var rank: Int
    /// 1.32: its typical step takes 32% longer than the run's typical step; nil before two
    /// ranks have step times.
    public var relativeStepTime: Double?
    /// Seconds the others spent waiting for it, in all.
    public var waitCaused: Double
    /// Its part of all the waiting the run's stragglers caused (0...1).
    public var waitShare: Double
}

extension RunSnapshot {
    /// A score for every rank heard from, by rank.
    public var scores: [StragglerScore] { StragglerScores.of(model) }

    /// What the header says of the run: one short line, the worst first.
    public var health: RunHealth { RunHealth(snapshot: self) }

    /// The health, taking the scores from the caller's cache when it needs them.
    public func health(scores: () -> [StragglerScore]) -> RunHealth {
        withoutActuallyEscaping(scores) { RunHealth(snapshot: self, scores: $0) }
    }
}

enum StragglerScores {
    static func of(_ model: RunModel) -> [StragglerScore] {
        // Two fields of each rank, read in place: `model.ranks` would copy every RankInfo (and
        // retain its arrays), a fifth of a 4096-rank frame.
        let slots = model.rankSlots
        var busy: [(rank: Int, typical: Double?)] = []
        busy.reserveCapacity(slots.count)
        for i in slots.indices where slots[i] != nil {
            busy.append((i, slots[i]?.typicalBusyTime))
        }
        let typical = busy.compactMap(\.typical).filter { $0 > 0 }.sorted()
        // The lower median: with two ranks (or two nodes of equal size), the upper one would be
        // the straggler itself, and it would score +0%.
        let median: Double? = typical.count >= 2 ? typical[(typical.count - 1) / 2] : nil
        let totalWait = model.stragglerStats.values.reduce(0) { $0 + $1.waitCaused }
        return busy.map { rank, typical in
            let caused = model.stragglerStats[rank]?.waitCaused ?? 0
            let relative = median.flatMap { median in typical.map { $0 / median } }
            return StragglerScore(rank: rank, relativeStepTime: relative, waitCaused: caused, waitShare: totalWait > 0 ? caused / totalWait : 0)
        }
    }
}

/// `healthy`, `straggling: rank 5 +32%`, or `stalled 41s: all_reduce #812, missing 5`.
public enum RunHealth: Sendable, Equatable {
    case healthy
    /// The slowest running rank's typical step, this much slower than the run's (0.32: +32%).
    case straggling(rank: Int, slower: Double)
    /// No rank progresses; the wait that holds it, and who is missing from it, where known.
    case stalled(seconds: Double, wait: String?, missing: RankSet?)
    /// Not a stall yet, but a barrier or collective has been open far longer than a step.
    case waiting(seconds: Double, wait: String, missing: RankSet?)
    /// Nothing to judge yet (no rank, or the run ended).
    case quiet(String)

    /// A rank this much slower than the run's median is a straggler worth a headline.
    public static let stragglerThreshold = 0.2

    /// `scores`: the snapshot's, from the caller's cache (a frame needs them three times: the
    /// header, the SLOW column and its sort). Asked for only when no wait or stall comes first.
    init(snapshot: RunSnapshot, scores: (() -> [StragglerScore])? = nil) {
        let oldest = RunHealth.oldestWait(snapshot)
        if let stall = snapshot.stall {
            self = .stalled(seconds: snapshot.now - stall.since, wait: oldest?.name, missing: oldest?.missing)
            return
        }
        if let oldest, snapshot.now - oldest.since >= RunHealth.longWait(snapshot) {
            self = .waiting(seconds: snapshot.now - oldest.since, wait: oldest.name, missing: oldest.missing)
            return
        }
        if snapshot.world == 0 { self = .quiet("no rank yet"); return }
        if snapshot.endedAt != nil { self = .quiet("ended"); return }
        let running = (scores?() ?? snapshot.scores).filter { score in
            let condition = snapshot.condition(of: score.rank)
            return condition == .running || condition == .waiting
        }
        if let slowest = running.compactMap({ s in s.relativeStepTime.map { (s.rank, $0) } }).max(by: { $0.1 < $1.1 }),
           slowest.1 - 1 >= RunHealth.stragglerThreshold {
            self = .straggling(rank: slowest.0, slower: slowest.1 - 1)
            return
        }
        self = .healthy
    }

    /// The oldest open barrier or blocking collective: what everyone else is blocked behind.
    private static func oldestWait(_ snapshot: RunSnapshot) -> (name: String, since: Double, missing: RankSet?)? {
        let barrier = snapshot.openWaits.min { $0.since < $1.since }
        let collective = snapshot.openCollectives.filter { !$0.isAsync }.min { $0.since < $1.since }
        if let collective, barrier.map({ collective.since <= $0.since }) ?? true {
            return (collective.title, collective.since, collective.missing)
        }
        guard let barrier else { return nil }
        let name = barrier.name.map { "barrier #\(barrier.n) \(Format.quoted($0, max: 30))" } ?? "barrier #\(barrier.n)"
        return (name, barrier.since, barrier.missing)
    }

    /// A wait this old is worth the headline before it is a stall: five typical steps, and at
    /// least 5 s (a checkpoint barrier of a few seconds is normal).
    private static func longWait(_ snapshot: RunSnapshot) -> Double {
        let typical = snapshot.model.ranks.compactMap(\.typicalStepTime).sorted()
        let step = typical.isEmpty ? 0 : typical[(typical.count - 1) / 2]
        return max(5, 5 * step)
    }

    public var text: String {
        switch self {
        case .healthy:
            return "healthy"
        case let .straggling(rank, slower):
            return "straggling: rank \(rank) +\(Int((slower * 100).rounded()))%"
        case let .stalled(seconds, wait, missing):
            var text = "stalled \(Format.duration(seconds))"
            if let wait { text += ": \(wait)" }
            if let missing, !missing.isEmpty { text += ", missing \(missing.text(limit: 4))" }
            return text
        case let .waiting(seconds, wait, missing):
            var text = "waiting \(Format.duration(seconds)): \(wait)"
            if let missing, !missing.isEmpty { text += ", missing \(missing.text(limit: 4))" }
            return text
        case let .quiet(text):
            return text
        }
    }
}
