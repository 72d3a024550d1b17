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
    /// The ranks to ask for their stacks once something has been stuck for `threshold` seconds.
    /// Each source of episodes is one function below; ranks that ended or never came are left
    /// out (they have no process to answer).
    public func stackCandidates(waitOpenFor threshold: Double) -> [StackCandidate] {
        var candidates: [StackCandidate] = []
        for wait in openWaits where now - wait.since >= threshold {
            candidates += barrierCandidates(wait)
        }
        return candidates.filter { canAnswer($0.rank) }
    }

    /// A barrier open too long: the ranks missing from it (where are they instead?) first, then
    /// the ranks waiting in it (their stacks show where in the program they wait).
    private func barrierCandidates(_ wait: OpenWait) -> [StackCandidate] {
        let episode = "barrier:\(wait.n)"
        let waiting = wait.arrived.filter { model.rank($0)?.barrier?.n == wait.n }
        return (Array(wait.missing) + waiting).map { StackCandidate(rank: $0, episode: episode) }
    }

    /// Whether the rank has a process that may answer: heard from and not ended.
    private func canAnswer(_ rank: Int) -> Bool {
        guard let info = model.rank(rank) else { return false }
        return !info.status.isTerminal
    }
}
