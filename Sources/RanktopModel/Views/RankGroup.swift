import RanktopProtocol

/// Ranks that ended the same way for the same reason, as ranges: `ranks 0-4094 (node-0..node-511)
/// lost at step 20: connection closed without bye` is one line at 4096 ranks, not 4095.
public struct RankGroup: Sendable, Equatable {
    public var status: RankStatus
    public var ranks: RankSet
    public var nodes: [String]
    /// The lowest and highest step the group's ranks reached.
    public var steps: ClosedRange<Int>?
    /// The reason they share: the text itself when every rank gave the same, else its shape with
    /// numbers written `N` (`rank N: connection to N refused`).
    public var reason: String?
    public var exitCode: Int?
    /// When its first and last rank ended (their last events).
    public var firstTs: Double
    public var lastTs: Double

    /// Failed, lost and stopped ranks grouped by (state, reason's shape, exit code), earliest first.
    static func incidents(of model: RunModel) -> [RankGroup] {
        struct Key: Hashable {
            var status: RankStatus
            var shape: String?
            var code: Int?
        }
        var order: [Key] = []
        var groups: [Key: (ranks: [Int], nodes: Set<String>, steps: [Int], reasons: Set<String>, first: Double, last: Double)] = [:]
        for slot in model.rankSlots {
            guard let info = slot, [.failed, .lost, .stopped].contains(info.status) else { continue }
            let reason = info.status == .lost ? info.lostReason.flatMap { $0.isEmpty ? nil : $0 } : info.error
            let code = info.status == .lost ? nil : info.exitCode.flatMap { $0 == 0 ? nil : $0 }
            let key = Key(status: info.status, shape: reason.map(RankGroup.shape), code: code)
            if groups[key] == nil {
                order.append(key)
                groups[key] = ([], [], [], [], info.lastTs, info.lastTs)
            }
            groups[key]!.ranks.append(info.rank)
            if let node = info.node { groups[key]!.nodes.insert(node) }
            if let step = info.step { groups[key]!.steps.append(step) }
            if let reason, groups[key]!.reasons.count < 2 { groups[key]!.reasons.insert(reason) }
            groups[key]!.first = min(groups[key]!.first, info.lastTs)
            groups[key]!.last = max(groups[key]!.last, info.lastTs)
        }
        return order.map { key in
            let g = groups[key]!
            let steps = g.steps.min().map { $0...g.steps.max()! }
            return RankGroup(
                status: key.status, ranks: RankSet(g.ranks), nodes: g.nodes.sorted(by: Format.naturallyBefore), steps: steps,
                reason: g.reasons.count == 1 ? g.reasons.first : key.shape, exitCode: key.code, firstTs: g.first, lastTs: g.last
            )
        }
        .sorted { $0.firstTs != $1.firstTs ? $0.firstTs < $1.firstTs : $0.ranks.first ?? 0 < $1.ranks.first ?? 0 }
    }

    /// A reason with its numbers replaced, so that ranks saying the same thing about different
    /// ranks, ports or pids fall into one group.
    static func shape(_ text: String) -> String {
        var out = ""
        var inNumber = false
        for character in text {
            if character.isASCII, character.isNumber {
                if !inNumber { out.append("N") }
                inNumber = true
            } else {
                out.append(character)
                inNumber = false
            }
        }
        return out
    }

    /// `rank 3 (node-0)` or `ranks 0-4094 (node-0..node-511, 512 nodes)`.
    public var who: String {
        Format.ranksLabelled(ranks, limit: 8) + RankGroup.nodeText(nodes)
    }

    static func nodeText(_ nodes: [String]) -> String {
        switch nodes.count {
        case 0: ""
        case 1...3: " (" + nodes.joined(separator: ", ") + ")"
        default: " (\(nodes[0])..\(nodes[nodes.count - 1]), \(nodes.count) nodes)"
        }
    }

    /// ` at step 20` or ` at steps 18-20`.
    public var stepText: String {
        guard let steps else { return "" }
        return steps.lowerBound == steps.upperBound ? " at step \(steps.lowerBound)" : " at steps \(steps.lowerBound)-\(steps.upperBound)"
    }
}
