extension RunReport {
    /// What went wrong, most urgent first: hung barriers and who is missing, then failures, lost
    /// and silent ranks, mismatched barrier names and lost events. One line each.
    public var diagnosis: [String] {
        var lines: [String] = []
        for barrier in openBarriers { lines.append(describe(barrier)) }
        for row in ranks where row.status == .failed {
            var line = "rank \(row.rank)\(nodeSuffix(row.rank)) failed\(stepSuffix(row))"
            if let error = row.error { line += ": \(Format.clean(error, max: 160))" }
            if let code = row.exitCode, code != 0 { line += " (exit code \(code))" }
            lines.append(line)
        }
        for row in ranks where row.status == .lost {
            var line = "rank \(row.rank)\(nodeSuffix(row.rank)) lost\(stepSuffix(row)), last seen \(ago(row.lastTs))"
            if let reason = row.lostReason, !reason.isEmpty { line += ": \(Format.clean(reason, max: 120))" }
            lines.append(line)
        }
        let stopped = ranks.filter { $0.status == .stopped }.map(\.rank)
        if let stop {
            var line = "stopped by the user: \(stop.reason ?? stop.signal)\(stop.by.map { " (\($0))" } ?? ""); "
            line += stopped.isEmpty
                ? "no rank was stopped by it"
                : "\(stopped.count == 1 ? "rank" : "ranks") \(Format.ranks(stopped, limit: 12)) stopped by \(stop.signal)"
            lines.append(line)
        }
        if !silentRanks.isEmpty {
            lines.append("\(silentRanks.count == 1 ? "rank" : "ranks") \(silentRanks.text(limit: 12)) never reported (world \(world))")
        }
        for mismatch in mismatches {
            let names = mismatch.names.map { "\(Format.quoted($0.name, max: 40)) on \($0.ranks.count == 1 ? "rank" : "ranks") \(Format.ranks($0.ranks, limit: 6))" }
            lines.append("barrier #\(mismatch.n) names disagree: \(names.joined(separator: ", ")) (the ranks are not in the same collective)")
        }
        for trigger in triggers where trigger.check == nil && trigger.source == .manual && trigger.rank == nil {
            lines.append("manual trigger \(trigger.id ?? "?")\(trigger.by.map { " by \($0)" } ?? "") was never applied by any rank")
        }
        if !otherRuns.isEmpty {
            let names = ([run ?? "?"] + otherRuns).map { Format.quoted($0, max: 40) }.joined(separator: ", ")
            lines.append("this log holds \(otherRuns.count + 1) runs (\(names)) whose ranks share numbers: what is said per rank mixes them; give each run its own collector or --log")
        }
        if collectorDiscarded > 0 {
            let why = collectorDiscardReason.map { " (\(Format.clean($0, max: 120)))" } ?? ""
            lines.append("the collector discarded \(collectorDiscarded) events it could not write\(why): the log has a gap, which is not the ranks' doing")
        }
        let lossy = ranks.filter { $0.dropped > 0 }
        if !lossy.isEmpty {
            let total = lossy.reduce(0) { $0.saturatingAdd($1.dropped) }
            lines.append("\(total) events were lost on \(lossy.count == 1 ? "rank" : "ranks") \(Format.ranks(lossy.map(\.rank), limit: 8)): parts of this picture may be missing")
        }
        if lines.isEmpty || lines.count == 1 && stop != nil { lines.append(healthySummary) }
        return lines
    }

    private var healthySummary: String {
        let exited = ranks.filter { $0.status == .exited }.count
        let maxStep = ranks.compactMap(\.step).max()
        let stepText = maxStep.map { " at step \($0)" } ?? ""
        if world > 0, exited == world {
            return "run completed: all \(world) ranks exited cleanly\(stepText)"
        }
        let stopped = ranks.filter { $0.status == .stopped }.count
        if stop != nil, world > 0, exited + stopped == world {
            return "nothing failed: \(stopped) of \(world) ranks stopped as asked, \(exited) exited cleanly\(stepText)"
        }
        if ranks.isEmpty { return "no events from any rank" }
        return "no hang found: \(ranks.count) of \(world) ranks reporting\(stepText), no barrier open"
    }

    private func describe(_ barrier: OpenBarrier) -> String {
        var line = "barrier #\(barrier.n)"
        if let name = barrier.name { line += " \(Format.quoted(name, max: 40))" }
        line += " open \(Format.duration(now - barrier.since)): \(barrier.arrived.count)/\(world) arrived"
        if barrier.missing.isEmpty {
            let stillInside = ranks.filter { $0.barrier?.n == barrier.n }.map(\.rank)
            if !stillInside.isEmpty {
                line += "; \(stillInside.count == 1 ? "rank" : "ranks") \(Format.ranks(stillInside, limit: 8)) not yet released"
            }
        } else {
            let detailed = barrier.missing.prefix(3).map(describeMissing)
            let label = barrier.missing.count == 1 ? "missing" : "missing \(barrier.missing.count) ranks (\(barrier.missing.text(limit: 8))):"
            line += "; \(label) \(detailed.joined(separator: "; "))"
            if barrier.missing.count > 3 { line += "; and \(barrier.missing.count - 3) more" }
        }
        if let timeout {
            let left = barrier.since + timeout - now
            line += left > 0
                ? "; the collective timeout fires in \(Format.duration(left))"
                : "; past the collective timeout (\(Format.duration(timeout))) by \(Format.duration(-left))"
        }
        return line
    }

    private func describeMissing(_ rank: Int) -> String {
        guard let row = rankRow(rank) else { return "rank \(rank), never reported" }
        var text = "rank \(rank)\(nodeSuffix(rank)), last seen \(ago(row.lastTs))"
        if let step = row.step {
            text += " at step \(step)"
            // Heartbeats keep a stuck rank "seen"; how long its step has not moved is the clue.
            if let progressTs = row.lastProgressTs, row.lastTs - progressTs >= 10 {
                text += " (no progress for \(Format.duration(now - progressTs)))"
            }
        }
        text += ", \(row.status.rawValue)"
        if let phase = row.phase { text += " in phase \(Format.quoted(phase, max: 30))" }
        if let b = row.barrier { text += " in barrier #\(b.n)\(b.name.map { " " + Format.quoted($0, max: 30) } ?? "")" }
        if let error = row.error { text += " (\(Format.clean(error, max: 80)))" }
        return text
    }

    private func nodeSuffix(_ rank: Int) -> String {
        rankRow(rank)?.node.map { " (\($0))" } ?? ""
    }

    private func stepSuffix(_ row: RankRow) -> String {
        row.step.map { " at step \($0)" } ?? ""
    }

    /// How long before the log's last event `ts` was. A report is read long after the run, so
    /// "ago" (from when?) and "just now" would mislead: the reference is the end of the log.
    func ago(_ ts: Double) -> String {
        let age = now - ts
        return age < 1 ? "at the end of the log" : "\(Format.duration(age)) before the end of the log"
    }

    /// `ago` for a table cell.
    func beforeEnd(_ ts: Double) -> String {
        let age = now - ts
        return age < 1 ? "at the end" : "\(Format.duration(age)) before the end"
    }
}
