import RanktopProtocol

/// How a run ended, for the headless launcher's last lines and the plain view's: counts by
/// condition, who failed or was lost, whether the user stopped it.
public struct RunSummary: Sendable {
    public var world: Int
    public var exited: RankSet
    public var stopped: RankSet
    public var failed: RankSet
    public var lost: RankSet
    /// Heard from but never said bye (running or waiting when the run ended).
    public var unfinished: RankSet
    public var neverReported: RankSet
    public var maxStep: Int
    public var dropped: Int
    public var stop: StopRequest?
    public var lastFiring: Int?

    /// `expectedWorld`: the ranks a launcher started, when it knows better than the hellos.
    public init(model: RunModel, expectedWorld: Int?) {
        world = max(model.world, expectedWorld ?? 0)
        var byStatus: [RankStatus: [Int]] = [:]
        for info in model.ranks { byStatus[info.status, default: []].append(info.rank) }
        exited = RankSet(byStatus[.exited] ?? [])
        stopped = RankSet(byStatus[.stopped] ?? [])
        failed = RankSet(byStatus[.failed] ?? [])
        lost = RankSet(byStatus[.lost] ?? [])
        unfinished = RankSet((byStatus[.running] ?? []) + (byStatus[.waiting] ?? []))
        neverReported = model.silentRankSet(world: world)
        maxStep = model.ranks.compactMap(\.step).max() ?? 0
        dropped = model.droppedTotal
        stop = model.stop
        lastFiring = model.firings.last?.check
    }

    /// `failed: rank 2; lost: ranks 5-7; trigger fired at check 29`, or nil when all went well.
    public var details: String? {
        var parts: [String] = []
        func list(_ set: RankSet) -> String { Format.ranksLabelled(set, limit: 12) }
        if !failed.isEmpty { parts.append("failed: \(list(failed))") }
        if !lost.isEmpty { parts.append("lost: \(list(lost))") }
        if !unfinished.isEmpty { parts.append("never said bye: \(list(unfinished))") }
        if !neverReported.isEmpty { parts.append("never reported: \(list(neverReported))") }
        if let lastFiring { parts.append("trigger fired at check \(lastFiring)") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// `finished: 4/4 ranks exited cleanly`, or, after the user's stop, `stopped by the user (...):
    /// 3/4 ranks stopped, 1 exited cleanly`.
    public var ending: String {
        if let stop, stop.afterFailure {
            return "stopped after a failure (\(stop.reason ?? "a rank failed")): \(stopped.count)/\(world) ranks stopped, \(exited.count) exited cleanly"
        }
        if let stop {
            // Stopped ranks did what the user asked: not failures, and counted apart.
            return "stopped by the user (\(stop.reason ?? stop.signal)): \(stopped.count)/\(world) ranks stopped, \(exited.count) exited cleanly"
        }
        return "finished: \(exited.count)/\(world) ranks exited cleanly"
    }
}
