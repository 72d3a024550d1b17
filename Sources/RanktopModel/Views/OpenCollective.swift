import RanktopProtocol

/// One collective that is open: which members are in it, which have not come, since when.
public struct OpenCollective: Sendable, Equatable {
    public var group: String
    public var n: Int
    public var op: String
    public var label: String?
    public var site: String?
    public var isAsync: Bool
    public var since: Double
    public var arrived: [Int]
    /// Members not arrived; nil when the group's members are not known by number.
    public var missing: RankSet?
    /// Members not arrived, counted where they cannot be named (the group's size minus arrivals).
    public var missingCount: Int
    /// Op (and size, where sizes disagree) -> ranks, when members called different ones.
    public var mismatch: [String: [Int]]?

    init(instance: CollectiveInstance, group: CollectiveGroup, world: Int, lastTs: Double?) {
        self.group = instance.key.group
        n = instance.key.n
        op = instance.op
        label = instance.label
        site = instance.site
        isAsync = instance.isAsync
        since = instance.since ?? lastTs ?? 0
        arrived = instance.arrivedRanks
        missing = group.missing(instance, world: world)
        if let missing {
            missingCount = missing.count
        } else {
            missingCount = max(0, (group.memberCount(world: world) ?? arrived.count) - arrived.count)
        }
        mismatch = instance.mismatch
    }

    /// `all_reduce #812 ddp.gradients`: what the ranks table and the waits panel call it.
    public var title: String {
        var text = "\(op) #\(n)"
        if let label { text += " \(label)" }
        if group != CollectiveGroup.world { text += " [\(group)]" }
        return text
    }
}
