import RanktopProtocol

/// One rank's answer to a stack request.
public struct RankStack: Sendable, Equatable {
    public var rank: Int
    public var ts: Double
    /// As the rank sent them: outermost first, innermost last.
    public var frames: [String]

    public init(rank: Int, ts: Double, frames: [String]) {
        self.rank = rank
        self.ts = ts
        self.frames = frames
    }
}

/// Ranks whose stacks are the same, shown once: over a job of thousands of ranks, a hang is a
/// few groups, and the odd one out is the culprit (`py-spy dump` over every process, folded).
public struct StackGroup: Sendable, Equatable {
    public var ranks: RankSet
    /// Innermost first, as `py-spy dump` writes them: where the rank is now leads, so a stack
    /// cut short by the screen still shows it. Notes (`waiting 3.2 s`) are the first rank's.
    public var frames: [StackFrame]
    /// The newest answer among the group's ranks.
    public var newest: Double

    /// `ranks 0-6 (7 ranks)`, `rank 7 (1 rank)`.
    public var title: String {
        Format.ranksLabelled(ranks) + " (\(ranks.count) rank\(ranks.count == 1 ? "" : "s"))"
    }

    /// Groups `stacks` by their frames, notes aside (two ranks waiting 1.2 s and 1.3 s in the
    /// same barrier are in the same place), the group of the lowest rank first.
    public static func groups(_ stacks: [RankStack]) -> [StackGroup] {
        // Identical text first, so each distinct stack is parsed and hashed as frames once
        // (thousands of ranks, a few distinct stacks); stacks that differ only in their notes
        // then land in the same group.
        var groupOfText: [[String]: Int] = [:]
        var groupOfFrames: [[StackFrame]: Int] = [:]
        var groups: [(ranks: [Int], frames: [StackFrame], newest: Double)] = []
        for stack in stacks.sorted(by: { $0.rank < $1.rank }) {
            let index: Int
            if let known = groupOfText[stack.frames] {
                index = known
            } else {
                let frames = Array(StackFrame.parse(stack.frames).reversed())
                let key = frames.map(\.identity)
                if let existing = groupOfFrames[key] {
                    index = existing
                } else {
                    index = groups.count
                    groupOfFrames[key] = index
                    groups.append(([], frames, stack.ts))
                }
                groupOfText[stack.frames] = index
            }
            groups[index].ranks.append(stack.rank)
            groups[index].newest = max(groups[index].newest, stack.ts)
        }
        return groups.map { StackGroup(ranks: RankSet($0.ranks), frames: $0.frames, newest: $0.newest) }
    }
}
