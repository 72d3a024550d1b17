import RanktopProtocol

/// The diagnosis lines for collectors that died while the run went on: a restarted collector's
/// predecessor (seen in the log itself), and the last one when the caller knows it is gone.
struct CollectorDeaths {
    let model: RunModel
    /// The last session has no end record and its process is gone.
    let lastGone: Bool

    var lines: [String] {
        let sessions = model.collectorSessions
        var lines: [String] = []
        for (index, session) in sessions.enumerated() {
            if let diedAt = session.diedAt {
                let next = index + 1 < sessions.count ? sessions[index + 1].startedAt : nil
                let takeover = next.map { "; a new collector took over \(Format.duration(max($0 - diedAt, 0))) later" } ?? ""
                lines.append(describe(session, diedAt: diedAt, running: session.runningAtDeath ?? RankSet()) + takeover)
            } else if index == sessions.count - 1, session.endedAt == nil, lastGone {
                lines.append(describe(session, diedAt: model.lastTs ?? session.startedAt, running: model.runningRanks))
            }
        }
        return lines
    }

    /// Times are UTC, as the report's header: a report reads the same on every machine.
    private func describe(_ session: CollectorSession, diedAt: Double, running: RankSet) -> String {
        let when = Format.utc(diedAt)
        let who = "the collector (pid \(session.pid) on \(Format.clean(session.node, max: 40)))"
        let ranks = running.isEmpty
            ? "no rank was running then"
            : "\(Format.ranksLabelled(running, limit: 12)) \(running.count == 1 ? "was" : "were") still running then"
        return "\(who) died at \(when) (its last event in the log); \(ranks)"
    }
}
