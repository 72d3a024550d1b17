import RanktopModel

/// The ranks table's `/` filter: space-separated terms, each a state (`waiting`, `stale`...),
/// rank numbers and ranges (`3`, `0-7`, `0-3,8-11`) or a node (`node:gpu-1`, or any other word,
/// matched against node names). Terms of one kind widen the filter (`waiting failed`), terms of
/// different kinds narrow it (`waiting gpu-1`).
public struct RankFilter: Sendable, Equatable {
    public private(set) var text: String
    var conditions: Set<RankCondition> = []
    var ranges: [ClosedRange<Int>] = []
    var nodes: [String] = []

    public init(_ text: String = "") {
        self.text = text
        for term in text.split(separator: " ") {
            let lowered = term.lowercased()
            if let condition = RankCondition.allCases.first(where: { $0.label == lowered }) {
                conditions.insert(condition)
            } else if lowered.hasPrefix("node:") {
                nodes.append(String(lowered.dropFirst(5)))
            } else if let parsed = RankFilter.parseRanges(lowered) {
                ranges.append(contentsOf: parsed)
            } else {
                nodes.append(lowered)
            }
        }
    }

    public var isEmpty: Bool { conditions.isEmpty && ranges.isEmpty && nodes.isEmpty }

    public func matches(rank: Int, node: String?, condition: RankCondition) -> Bool {
        if !conditions.isEmpty, !conditions.contains(condition) { return false }
        if !ranges.isEmpty, !ranges.contains(where: { $0.contains(rank) }) { return false }
        if !nodes.isEmpty {
            guard let node = node?.lowercased() else { return false }
            if !nodes.contains(where: { node.contains($0) }) { return false }
        }
        return true
    }

    /// `3`, `0-7`, `0-3,8-11`; nil when the term is not made of rank numbers.
    static func parseRanges(_ term: String) -> [ClosedRange<Int>]? {
        var result: [ClosedRange<Int>] = []
        for piece in term.split(separator: ",") {
            let bounds = piece.split(separator: "-", omittingEmptySubsequences: false)
            if bounds.count == 1, let n = Int(bounds[0]), n >= 0 {
                result.append(n...n)
            } else if bounds.count == 2, let a = Int(bounds[0]), let b = Int(bounds[1]), a >= 0, a <= b {
                result.append(a...b)
            } else {
                return nil
            }
        }
        return result.isEmpty ? nil : result
    }
}
