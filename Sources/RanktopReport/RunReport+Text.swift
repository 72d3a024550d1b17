import RanktopModel
extension RunReport {
    /// The report for people: the diagnosis first, then the detail behind it.
    public var text: String {
        var out: [String] = []
        var header = "run \(run ?? "(unknown)") · world \(world)"
        if !nodes.isEmpty { header += " · \(nodes.count) \(nodes.count == 1 ? "node" : "nodes")" }
        header += " · \(events) events"
        if rejected > 0 { header += " · \(rejected) rejected \(rejected == 1 ? "line" : "lines")" }
        out.append(header)
        if let start = startTs, let at {
            out.append("at \(Format.utc(at)), \(Format.duration(max(0, at - start))) into the log (from \(Format.utc(start))): the state then")
        } else if let start = startTs, let end = endTs {
            out.append("log \(Format.utc(start)) to \(Format.utc(end)) (\(Format.duration(end - start)))")
        }
        if !healthIsQuiet { out.append("health: \(health)") }
        out.append("")
        out.append("DIAGNOSIS")
        out += diagnosis.map { "  " + $0 }

        if !ranks.isEmpty {
            out.append("")
            out.append("RANKS")
            out += rankTable.map { "  " + $0 }
        }
        if !openBarriers.isEmpty || completedBarriers > 0 {
            out.append("")
            out.append("BARRIERS")
            out.append("  \(completedBarriers) completed, \(openBarriers.count) open")
            for barrier in openBarriers {
                var line = "  #\(barrier.n)"
                if let name = barrier.name { line += " \(Format.quoted(name, max: 40))" }
                if let site = barrier.site { line += " at \(site)" }
                line += ": arrived \(Format.ranks(barrier.arrived, limit: 8)); missing \(barrier.missing.isEmpty ? "none" : barrier.missing.text(limit: 8))"
                out.append(line)
            }
        }
        if !openCollectives.isEmpty || completedCollectives > 0 {
            out.append("")
            out.append("COLLECTIVES")
            out.append("  \(completedCollectives) completed, \(openCollectives.count) open")
            for wait in openCollectives.prefix(20) {
                var line = "  \(wait.title)"
                line += " (group \(Format.quoted(wait.group, max: 40)))"
                if let site = wait.site { line += " at \(Format.clean(site, max: 60))" }
                line += " for \(Format.duration(now - wait.since)): arrived \(Format.ranks(wait.arrived, limit: 8)); missing "
                if let missing = wait.missing {
                    line += missing.isEmpty ? "none" : missing.text(limit: 8)
                } else {
                    line += "\(wait.missingCount)"
                }
                out.append(line)
            }
            if openCollectives.count > 20 { out.append("  ... and \(openCollectives.count - 20) more") }
        }
        if !collectiveMismatches.isEmpty {
            out.append("")
            out.append("MISMATCHED COLLECTIVES")
            for entry in collectiveMismatches.prefix(20) {
                let ops = entry.ops.sorted { $0.key < $1.key }.map { "\($0.key) on \(Format.ranks($0.value, limit: 6))" }
                out.append("  #\(entry.key.n) of \(Format.quoted(entry.key.group, max: 40)): \(ops.joined(separator: ", "))")
            }
        }
        if !stacks.isEmpty {
            out.append("")
            out.append("STACKS (the newest of each rank, grouped where identical; innermost first, \(Format.userFrameMarker(ascii: false))your code)")
            let groups = StackGroup.groups(stacks.map { RankStack(rank: $0.rank, ts: $0.sample.ts, frames: $0.sample.frames) })
            for group in groups.prefix(12) {
                out.append("  \(group.title), \(ago(group.newest)):")
                for frame in group.frames.prefix(16) { out.append("    " + Format.frame(frame, width: 156).text) }
                if group.frames.count > 16 { out.append("    ... \(group.frames.count - 16) outer frames") }
            }
            if groups.count > 12 { out.append("  ... and \(groups.count - 12) more groups") }
        }
        if !mismatches.isEmpty {
            out.append("")
            out.append("MISMATCHED BARRIERS")
            for mismatch in mismatches {
                let names = mismatch.names.map { "\(Format.quoted($0.name, max: 40)) on \(Format.ranks($0.ranks, limit: 6))" }
                out.append("  #\(mismatch.n): \(names.joined(separator: ", "))")
            }
        }
        if !stragglers.isEmpty {
            out.append("")
            out.append("STRAGGLERS (last to arrive at completed barriers and collectives)")
            for s in stragglers.prefix(10) {
                out.append("  rank \(s.rank): last \(s.timesLast) \(s.timesLast == 1 ? "time" : "times"), kept the others waiting \(Format.duration(s.waitCaused)) in total")
            }
            if stragglers.count > 10 { out.append("  ... and \(stragglers.count - 10) more") }
        }
        let scored = scores.filter { $0.relativeStepTime != nil }
        if !scored.isEmpty {
            out.append("")
            out.append("SCORES (each rank's typical step against the run's; its part of the waiting it caused)")
            let slowest = scored.sorted { a, b in
                a.relativeStepTime! != b.relativeStepTime! ? a.relativeStepTime! > b.relativeStepTime! : a.rank < b.rank
            }
            for score in slowest.prefix(10) {
                let percent = Int(((score.relativeStepTime! - 1) * 100).rounded())
                var line = "  rank \(score.rank): step time \(percent >= 0 ? "+" : "")\(percent)%"
                if score.waitCaused > 0 {
                    line += ", caused \(Int((score.waitShare * 100).rounded()))% of the waiting (\(Format.duration(score.waitCaused)))"
                }
                out.append(line)
            }
            if slowest.count > 10 { out.append("  ... and \(slowest.count - 10) more") }
        }
        if !triggers.isEmpty {
            out.append("")
            out.append("TRIGGERS")
            for t in triggers { out.append("  " + describe(t)) }
        }
        if !phases.isEmpty {
            out.append("")
            out.append("PHASES (main-first)")
            for p in phases.prefix(50) {
                let occurrence = p.occurrence > 0 ? " #\(p.occurrence + 1)" : ""
                let main = p.mainSeconds.map(Format.duration) ?? "-"
                let others = p.othersSeconds.map(Format.duration) ?? "-"
                out.append("  \(p.name)\(occurrence) (\(p.mode.rawValue)): main \(main), others \(others)\(p.complete ? "" : ", still open")")
            }
            if phases.count > 50 { out.append("  ... and \(phases.count - 50) more") }
        }
        if rejected > 0 {
            out.append("")
            out.append("REJECTED LINES (\(rejected))")
            for sample in rejectedSamples.prefix(20) {
                out.append("  line \(sample.line): \(Format.clean(sample.reason, max: 120))")
            }
            if rejected > 20 {
                let classes = rejectedByReason.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }
                out.append("  ... by reason: \(classes.prefix(8).joined(separator: ", "))")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    private func describe(_ t: TriggerRow) -> String {
        var who: String
        switch t.source {
        case .code: who = "code on rank \(t.rank.map(String.init) ?? "?")"
        case .manual: who = "manual injection \(t.id ?? "?")\(t.by.map { " by \($0)" } ?? "")"
        }
        if let reason = t.reason { who += " (\(Format.quoted(reason, max: 60)))" }
        if t.causes > 1 { who += " and \(t.causes - 1) more" }
        guard let check = t.check else {
            return t.source == .manual && t.rank == nil
                ? "not applied: \(who), asked \(ago(t.ts))"
                : "set, no check yet: \(who)"
        }
        return "check #\(check) fired\(t.step.map { " at step \($0)" } ?? ""): \(who)"
    }

    /// Past this many ranks, consecutive rows that say the same (but for rank and node) are one
    /// row of ranges, unless `listEveryRank`.
    public static let collapseRowsAbove = 64

    private var rankTable: [String] {
        var rows: [[String]] = [["rank", "node", "state", "step", "where", "last seen", "dropped"]]
        let collapse = !listEveryRank && ranks.count > RunReport.collapseRowsAbove
        var run: (first: RankRow, last: RankRow, nodes: Set<String>, cells: [String])?
        func flush() {
            guard let r = run else { return }
            let rankCell = r.first.rank == r.last.rank ? String(r.first.rank) : "\(r.first.rank)-\(r.last.rank)"
            let nodes = r.nodes.sorted(by: Format.naturallyBefore)
            let nodeCell = nodes.count <= 1 ? (nodes.first ?? "-") : "\(nodes[0])..\(nodes[nodes.count - 1])"
            rows.append([rankCell, nodeCell] + r.cells)
            run = nil
        }
        for r in ranks {
            let step = r.step.map { s in r.total.map { "\(s)/\($0)" } ?? "\(s)" } ?? "-"
            var place = "-"
            if let b = r.barrier {
                place = "barrier #\(b.n)\(b.name.map { " " + Format.clean($0, max: 24) } ?? "") for \(Format.duration(now - b.since))"
            } else if let c = r.collective {
                place = "\(c.op) #\(c.n)\(c.label.map { " " + Format.clean($0, max: 24) } ?? "") for \(Format.duration(now - c.since))"
            } else if let phase = r.phase {
                place = "phase \(Format.clean(phase, max: 24))"
            } else if r.status == .failed, let code = r.exitCode {
                place = "exit code \(code)"
            }
            let cells = [r.stalled ? "\(r.stateLabel), stalled" : r.stateLabel, step, place, beforeEnd(r.lastTs), r.dropped > 0 ? String(r.dropped) : ""]
            if collapse, let current = run, current.cells == cells, current.last.rank + 1 == r.rank {
                run?.last = r
                if let node = r.node { run?.nodes.insert(node) }
                continue
            }
            flush()
            run = (r, r, Set(r.node.map { [$0] } ?? []), cells)
        }
        flush()
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return c == 0 ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
