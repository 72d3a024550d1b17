/// A rank whose stack is worth having now, and the episode it is wanted for: the collector asks
/// each (run, rank, episode) once, so a hang leaves its stacks in the log even if nobody watched.
public struct StackCandidate: Sendable, Equatable, Hashable {
    public let rank: Int
    /// What the stack is evidence of, unique within a run: `barrier:3`.
    public let episode: String

    public init(rank: Int, episode: String) {
        self.rank = rank
        self.episode = episode
    }
}

extension RunSnapshot {
    /// How many of the ranks waiting in one barrier are asked: they wait in the same place, as a
    /// rule, and a checkpoint that keeps 4095 ranks waiting past the threshold every hour must
    /// not write 4095 stacks into the log each time. Spread over the ranks, so that nodes differ.
    public static let waitingStackSample = 8

    /// The ranks to ask for their stacks once something has been stuck for `threshold` seconds.
    /// Each source of episodes is one function below, which leaves out ranks that ended or never
    /// came (`canAnswer`: they have no process to answer).
    public func stackCandidates(waitOpenFor threshold: Double) -> [StackCandidate] {
        var candidates: [StackCandidate] = []
        for wait in openWaits where now - wait.since >= threshold {
            candidates += barrierCandidates(wait)
        }
        for collective in openCollectives where now - collective.since >= threshold {
            candidates += collectiveCandidates(collective)
        }
        candidates += stallCandidates(excluding: Set(candidates.map(\.rank)))
        return candidates
    }

    /// A collective open too long: its missing members first, then a sample of those inside.
    private func collectiveCandidates(_ collective: OpenCollective) -> [StackCandidate] {
        let episode = "collective:\(collective.group):\(collective.n)"
        let inside = model.collectiveGroups[collective.group]?.open[collective.n]?.inside.sorted() ?? []
        let missing = collective.missing?.filter(canAnswer) ?? []
        return (missing + RunSnapshot.spread(inside.filter(canAnswer), count: RunSnapshot.waitingStackSample))
            .map { StackCandidate(rank: $0, episode: episode) }
    }

    /// Stalled ranks that no open wait accounts for (a data loader that hangs, a deadlock in the
    /// rank's own threads): one episode per stall, keyed by when the rank last moved on, so a rank
    /// that stalls again later is asked again.
    private func stallCandidates(excluding asked: Set<Int>) -> [StackCandidate] {
        let slots = model.rankSlots
        return stalled.prefix(4096).filter { !asked.contains($0) && canAnswer($0) }.compactMap { rank in
            guard rank < slots.count, let info = slots[rank] else { return nil }
            let since = info.lastActivityTs ?? info.firstTs
            return StackCandidate(rank: rank, episode: "stall:\(Int(since * 1000))")
        }
    }

    /// A barrier open too long: every rank missing from it (where is it instead?) first, then a
    /// sample of the ranks waiting in it (their stacks show where in the program they wait).
    private func barrierCandidates(_ wait: OpenWait) -> [StackCandidate] {
        let episode = "barrier:\(wait.n)"
        let slots = model.rankSlots
        let waiting = wait.arrived.filter { $0 < slots.count && slots[$0]?.barrier?.n == wait.n && canAnswer($0) }
        let missing = wait.missing.filter(canAnswer)
        return (missing + RunSnapshot.spread(waiting, count: RunSnapshot.waitingStackSample))
            .map { StackCandidate(rank: $0, episode: episode) }
    }

    /// At most `count` of `ranks`, evenly spread from the first to the last.
    static func spread(_ ranks: [Int], count: Int) -> [Int] {
        guard ranks.count > count, count > 1 else { return Array(ranks.prefix(max(0, count))) }
        return (0..<count).map { ranks[$0 * (ranks.count - 1) / (count - 1)] }
    }

    /// Whether the rank has a process that may answer: heard from and not ended.
    private func canAnswer(_ rank: Int) -> Bool {
        guard rank < model.rankSlots.count, let status = model.rankSlots[rank]?.status else { return false }
        return !status.isTerminal
    }
}
