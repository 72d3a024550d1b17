import RanktopProtocol

/// What went wrong, as lines for people, derived from the model at a moment.
///
/// The root cause comes first: incidents (failures, losses, the user's stop) in the order they
/// happened, so a `kill -9` of rank 1 leads and the ranks the launcher then stopped follow; then
/// the waits they left open, with who is missing. Ranks in the same condition are one line of ranges, so the diagnosis of a
/// 4096-rank run is a few lines long. Then: ranks that never reported, barrier-name mismatches,
/// injections nobody applied, gaps in the log.
struct Diagnosis {
    let model: RunModel
    let now: Double
    let openWaits: [OpenWait]
    let openCollectives: [OpenCollective]
    let stall: RunStall?
    let stalled: RankSet
    let incidents: [RankGroup]
    var collectorGone = false

    var lines: [String] {
        // Incidents in the order they happened: the first is the likeliest cause of the rest.
        var timed: [(ts: Double, line: String)] = []
        for group in incidents where group.status != .stopped { timed.append((group.firstTs, describe(group))) }
        if let stop = model.stop { timed.append((stop.ts, describeStop(stop))) }
        // A run that stopped progressing leads: it is what the user came for.
        var lines = stall.map { [describe($0)] } ?? []
        lines += timed.enumerated().sorted { a, b in
            a.element.ts != b.element.ts ? a.element.ts < b.element.ts : a.offset < b.offset
        }.map(\.element.line)
        // Then the waits they left behind: a barrier or collective open is what a missing rank causes.
        lines += openWaits.map(describe)
        lines += describeCollectives()
        if stall == nil, !stalled.isEmpty {
            lines.append("\(Format.ranksLabelled(stalled, limit: 12)) stalled: alive but no progress for \(Format.duration(longestStall(stalled)))")
        }

        lines += describeUnreachable()
        lines += CollectorDeaths(model: model, lastGone: collectorGone).lines
        let silent = model.silentRankSet
        if !silent.isEmpty {
            lines.append("\(Format.ranksLabelled(silent, limit: 12)) never reported (world \(model.world))")
        }
        for (n, names) in model.mismatches.sorted(by: { $0.key < $1.key }) {
            let parts = names.sorted { $0.key < $1.key }.map { name, ranks in
                "\(Format.quoted(name, max: 40)) on \(Format.ranksLabelled(RankSet(ranks), limit: 6))"
            }
            lines.append("barrier #\(n) names disagree: \(parts.joined(separator: ", ")) (the ranks are not in the same collective)")
        }
        for (key, ops) in model.collectiveMismatches.sorted(by: { $0.key < $1.key }) {
            let parts = ops.sorted { $0.key < $1.key }.map { op, ranks in "\(op) on \(Format.ranksLabelled(RankSet(ranks), limit: 6))" }
            lines.append("collective #\(key.n) of group \(Format.quoted(key.group, max: 40)) mismatched: \(parts.joined(separator: ", ")) (the ranks called different collectives: the run will hang or corrupt data)")
        }
        for injection in model.pendingInjections {
            lines.append("manual trigger \(injection.id)\(injection.by.map { " by \($0)" } ?? "") was never applied by any rank")
        }
        if !model.otherRuns.isEmpty {
            let names = ([model.run ?? "?"] + model.otherRuns).map { Format.quoted($0, max: 40) }.joined(separator: ", ")
            lines.append("this log holds \(model.otherRuns.count + 1) runs (\(names)) whose ranks share numbers: what is said per rank mixes them; give each run its own collector or --log")
        }
        if model.collectorDiscarded > 0 {
            let why = model.collectorDiscardReason.map { " (\(Format.clean($0, max: 120)))" } ?? ""
            lines.append("the collector discarded \(model.collectorDiscarded) events it could not write\(why): the log has a gap, which is not the ranks' doing")
        }
        let lossy = model.ranks.filter { $0.dropped > 0 }
        if !lossy.isEmpty {
            let total = lossy.reduce(0) { $0.saturatingAdd($1.dropped) }
            lines.append("\(total) events were lost on \(Format.ranksLabelled(RankSet(lossy.map(\.rank)), limit: 8)): parts of this picture may be missing")
        }
        if lines.isEmpty || lines.count == 1 && model.stop != nil { lines.append(healthySummary) }
        return lines
    }

    /// Ranks whose relay went, grouped by why (one relay, one line).
    private func describeUnreachable() -> [String] {
        var byReason: [String: (ranks: [Int], since: Double)] = [:]
        for info in model.ranks where !info.status.isTerminal {
            guard let unreachable = info.unreachable else { continue }
            var entry = byReason[unreachable.reason] ?? ([], unreachable.since)
            entry.ranks.append(info.rank)
            entry.since = min(entry.since, unreachable.since)
            byReason[unreachable.reason] = entry
        }
        return byReason.keys.sorted().map { reason in
            let entry = byReason[reason]!
            return "\(Format.ranksLabelled(RankSet(entry.ranks), limit: 12)) unreachable for \(Format.duration(max(now - entry.since, 0))): \(Format.clean(reason, max: 120)); they may still be running (restart the relay: it sends what the rings hold)"
        }
    }

    private var healthySummary: String {
        let ranks = model.ranks
        let world = model.world
        let exited = ranks.filter { $0.status == .exited }.count
        let stepText = ranks.compactMap(\.step).max().map { " at step \($0)" } ?? ""
        if world > 0, exited == world {
            return "run completed: all \(world) ranks exited cleanly\(stepText)"
        }
        let stopped = ranks.filter { $0.status == .stopped }.count
        if model.stop != nil, world > 0, exited + stopped == world {
            return "nothing failed: \(stopped) of \(world) ranks stopped as asked, \(exited) exited cleanly\(stepText)"
        }
        if ranks.isEmpty { return "no events from any rank" }
        return "no hang found: \(ranks.count) of \(world) ranks reporting\(stepText), no barrier or collective open"
    }

    private func describe(_ stall: RunStall) -> String {
        var line = "run stalled: no rank has progressed for \(Format.duration(now - stall.since))"
        if let step = stall.step { line += " (at step \(step))" }
        // Where the waiting ranks are, and who they wait for: the oldest open wait says it.
        if let wait = openCollectives.filter({ !($0.missing?.isEmpty ?? ($0.missingCount == 0)) }).min(by: { $0.since < $1.since }) {
            line += "; " + waiting(wait.arrived, in: "\(wait.title) (group \(Format.quoted(wait.group, max: 40)))")
            if let missing = wait.missing {
                line += " for \(Format.ranksLabelled(missing, limit: 8))"
            } else {
                line += " for \(wait.missingCount) more member\(wait.missingCount == 1 ? "" : "s")"
            }
        } else if let wait = openWaits.filter({ !$0.missing.isEmpty }).min(by: { $0.since < $1.since }) {
            line += "; " + waiting(wait.arrived, in: "barrier #\(wait.n)\(wait.name.map { " " + Format.quoted($0, max: 40) } ?? "")")
            line += " for \(Format.ranksLabelled(wait.missing, limit: 8))"
        } else {
            line += "; no rank is in a barrier or collective: they are alive (heartbeats) but stuck elsewhere"
        }
        return line
    }

    /// `ranks 0-6 wait in all_reduce #812 ...`.
    private func waiting(_ arrived: [Int], in what: String) -> String {
        let inside = RankSet(arrived)
        return "\(Format.ranksLabelled(inside, limit: 8)) \(inside.count == 1 ? "waits" : "wait") in \(what)"
    }

    /// `; missing rank 5 (node-1), last seen ...`, the first three described, the rest counted.
    private func missingDetail(_ missing: RankSet) -> String {
        let detailed = missing.prefix(3).map(describeMissing)
        let label = missing.count == 1 ? "missing" : "missing \(missing.count) ranks (\(missing.text(limit: 8))):"
        var text = "; \(label) \(detailed.joined(separator: "; "))"
        if missing.count > 3 { text += "; and \(missing.count - 3) more\(conditionsOfTheRest(missing.dropFirst(3)))" }
        return text
    }

    /// `; the collective timeout fires in 9m44s` for a wait open since `since`, when a hello gave one.
    private func timeoutText(since: Double) -> String {
        guard let timeout = model.timeout else { return "" }
        let left = since + timeout - now
        return left > 0
            ? "; the collective timeout fires in \(Format.duration(left))"
            : "; past the collective timeout (\(Format.duration(timeout))) by \(Format.duration(-left))"
    }

    private func longestStall(_ ranks: RankSet) -> Double {
        ranks.prefix(4096).compactMap { model.rank($0) }.map { now - ($0.lastActivityTs ?? $0.firstTs) }.max() ?? 0
    }

    private func describeCollectives() -> [String] {
        // DDP keeps a few gradient buckets in flight every step: only waits that held someone up
        // for a moment are worth a line, and the oldest per group says where the group stands.
        var lines: [String] = []
        var seenGroups: Set<String> = []
        for wait in openCollectives.sorted(by: { $0.since < $1.since }) {
            guard !seenGroups.contains(wait.group) else { continue }
            let missing = wait.missing?.count ?? wait.missingCount
            guard missing > 0 || now - wait.since >= RunSnapshot.collectiveNoticeAfter else { continue }
            seenGroups.insert(wait.group)
            var line = "\(wait.title) (group \(Format.quoted(wait.group, max: 40))) open \(Format.duration(now - wait.since)): \(wait.arrived.count)"
            if let count = model.collectiveGroups[wait.group]?.memberCount(world: model.world) { line += "/\(count)" }
            line += " arrived"
            if let site = wait.site { line += " at \(Format.clean(site, max: 60))" }
            if let missingSet = wait.missing, !missingSet.isEmpty {
                line += missingDetail(missingSet)
            } else if missing > 0 {
                line += "; \(missing) member\(missing == 1 ? "" : "s") missing (the group's ranks were not reported)"
            }
            lines.append(line + timeoutText(since: wait.since))
        }
        return lines
    }

    private func describe(_ group: RankGroup) -> String {
        var line = group.who
        switch group.status {
        case .failed:
            line += " failed\(group.stepText)"
            if let reason = group.reason { line += ": \(Format.clean(reason, max: 160))" }
            if let code = group.exitCode { line += " (exit code \(code))" }
        case .lost:
            line += " lost\(group.stepText), last seen \(ago(group.lastTs))"
            if let reason = group.reason { line += ": \(Format.clean(reason, max: 120))" }
        default:
            line += " \(group.status.rawValue)\(group.stepText)"
        }
        return line
    }

    private func describeStop(_ stop: StopRequest) -> String {
        let stopped = RankSet(model.ranks.filter { $0.status == .stopped }.map(\.rank))
        var line = stop.afterFailure
            ? "the launcher stopped the other ranks after \(stop.reason ?? "a rank failed"); "
            : "stopped by the user: \(stop.reason ?? stop.signal)\(stop.by.map { " (\($0))" } ?? ""); "
        line += stopped.isEmpty
            ? "no rank was stopped by it"
            : "\(Format.ranksLabelled(stopped, limit: 12)) stopped by \(stop.signal)"
        return line
    }

    private func describe(_ wait: OpenWait) -> String {
        let world = model.world
        var line = "barrier #\(wait.n)"
        if let name = wait.name { line += " \(Format.quoted(name, max: 40))" }
        line += " open \(Format.duration(now - wait.since)): \(wait.arrived.count)/\(world) arrived"
        if wait.missing.isEmpty {
            let stillInside = model.ranks.filter { $0.barrier?.n == wait.n }.map(\.rank)
            if !stillInside.isEmpty {
                line += "; \(Format.ranksLabelled(RankSet(stillInside), limit: 8)) not yet released"
            }
        } else {
            line += missingDetail(wait.missing)
        }
        return line + timeoutText(since: wait.since)
    }

    /// ` (4090 never reported, 2 lost)`: what the missing ranks not described one by one are.
    private func conditionsOfTheRest(_ ranks: Slice<RankSet>) -> String {
        var counts: [String: Int] = [:]
        var order: [String] = []
        // Ranks never heard from are one range beyond the slots: counted, not walked.
        let slots = model.rankSlots.count
        var silent = 0
        for range in ranks.base.ranges {
            let lower = max(range.lowerBound, ranks[ranks.startIndex])
            guard lower <= range.upperBound else { continue }
            if lower >= slots { silent += range.upperBound - lower + 1; continue }
            for rank in lower...min(range.upperBound, slots - 1) {
                let label = model.rank(rank).map { $0.status.rawValue } ?? "never reported"
                if counts[label] == nil { order.append(label) }
                counts[label, default: 0] += 1
            }
            if range.upperBound >= slots { silent += range.upperBound - slots + 1 }
        }
        if silent > 0 {
            if counts["never reported"] == nil { order.append("never reported") }
            counts["never reported", default: 0] += silent
        }
        guard !order.isEmpty else { return "" }
        return " (" + order.map { "\(counts[$0]!) \($0)" }.joined(separator: ", ") + ")"
    }

    private func describeMissing(_ rank: Int) -> String {
        guard let info = model.rank(rank) else { return "rank \(rank), never reported" }
        var text = "rank \(rank)\(info.node.map { " (\($0))" } ?? ""), last seen \(ago(info.lastTs))"
        if let step = info.step {
            text += " at step \(step)"
            // Heartbeats keep a stuck rank "seen"; how long its step has not moved is the clue.
            if let progressTs = info.lastProgressTs, info.lastTs - progressTs >= 10 {
                text += " (no progress for \(Format.duration(now - progressTs)))"
            }
        }
        text += ", \(info.status.rawValue)"
        if let kind = info.lastActivityKind, let ts = info.lastActivityKindTs {
            text += ", last event \(kind.rawValue) \(ago(ts))"
        }
        if let collective = info.currentCollective {
            text += " in \(collective.op) #\(collective.n)\(collective.label.map { " " + $0 } ?? "")"
        }
        if let site = info.lastSite { text += ", last site \(Format.clean(site, max: 60))" }
        if let phase = info.phase { text += " in phase \(Format.quoted(phase.name, max: 30))" }
        if let b = info.barrier { text += " in barrier #\(b.n)\(b.name.map { " " + Format.quoted($0, max: 30) } ?? "")" }
        if let error = info.error { text += " (\(Format.clean(error, max: 80)))" }
        if let stack = info.lastStack, !stack.frames.isEmpty {
            // Where the rank is, and the user's own frame that led there (the line to open).
            let frames = StackFrame.parse(stack.frames)
            var shown = [frames[frames.count - 1]]
            if let user = frames.last(where: \.isUser), user != shown[0] { shown.append(user) }
            text += "; stack \(ago(stack.ts)): " + shown.map { Format.frame($0, width: 100).text }.joined(separator: " <- ")
        }
        return text
    }

    /// How long before the moment judged at `ts` was. A report is read long after the run, so
    /// "ago" (from when?) and "just now" would mislead: the reference is the end of the log.
    func ago(_ ts: Double) -> String {
        let age = now - ts
        return age < 1 ? "at the end of the log" : "\(Format.duration(age)) before the end of the log"
    }
}
