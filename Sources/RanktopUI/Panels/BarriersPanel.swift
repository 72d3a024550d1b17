import RanktopModel
import RanktopProtocol

/// The waits panel: whether the run is stalled, then open barriers and collectives with who is
/// missing (by number: the key diagnostic), how long they have been open and the time left
/// before the collective timeout; mismatches, loudly; and the recent completed barriers with
/// their straggler and the wait it caused.
enum BarriersPanel {
    static func title(focused: Bool, context: RenderContext) -> StyledLine {
        var title = PanelFrame.title(.barriers, focused: focused, context: context)
        let model = context.model
        let open = model.openBarriers.count + context.digest.heldCollectives.count
        title.add(" \(open) open", context.style(open == 0 ? .dim : .barrier))
        let mismatches = model.mismatches.count + model.collectiveMismatches.count
        if mismatches > 0 {
            title.add(" ", context.style(.dim))
            title.add(" \(mismatches) MISMATCH ", context.style(.mismatch))
        }
        if context.digest.stall != nil {
            title.add(" ", context.style(.dim))
            title.add(" STALLED ", context.style(.error).overlaid(by: Style(.bold)))
        }
        title.add(context.glyphs.separator + "\(model.completedBarrierCount) done", context.style(.dim))
        return title
    }

    static func lines(width: Int, context: RenderContext) -> [StyledLine] {
        let model = context.model
        var lines: [StyledLine] = []
        if let stall = context.digest.stall { lines.append(stallLine(stall, context: context)) }
        lines += collectiveMismatchLines(width: width, context: context)
        for (n, names) in model.mismatches.sorted(by: { $0.key > $1.key }).prefix(3) {
            let parts = names.sorted { $0.value.first ?? 0 < $1.value.first ?? 0 }
                .map { "'\($0.key)' (\(RankRanges.text($0.value)))" }
            lines += mismatchLines("\(context.glyphs.warning) MISMATCH #\(n): ", parts, width: width, context: context)
        }
        for barrier in model.openBarriersByN {
            lines += openBarrier(barrier, width: width, context: context)
        }
        let held = context.digest.heldCollectives
        for collective in held.prefix(8) {
            lines += openCollective(collective, width: width, context: context)
        }
        if held.count > 8 { lines.append(StyledLine("+\(held.count - 8) more collectives open", context.style(.dim))) }
        if model.openBarriers.isEmpty, held.isEmpty {
            lines.append(StyledLine("no barrier or collective open", context.style(.dim)))
        }
        let recent = model.completedBarriers.suffix(8).reversed()
        if !recent.isEmpty {
            lines.append(StyledLine("recent", context.style(.dim)))
            for summary in recent { lines.append(completed(summary, context: context)) }
        }
        return lines
    }

    private static func openBarrier(_ barrier: BarrierInstance, width: Int, context: RenderContext) -> [StyledLine] {
        let world = context.digest.world
        let dim = context.style(.dim)
        var head = StyledLine("#\(barrier.n)", context.style(.barrier).overlaid(by: Style(.bold)))
        if let name = barrier.name ?? barrier.phase.map({ "(\($0))" }) { head.add(" " + name, context.style(.barrier)) }
        let arrived = barrier.everyoneArrived ? world : barrier.arrivals.count
        head.add("  \(arrived)/\(world) arrived", context.style(.text))
        var lines = headAndTiming(head, since: barrier.since, site: barrier.site, width: width, context: context)

        // Who is missing is the snapshot's to say (derived once a frame, as ranges).
        let missing = context.digest.openWaits.first { $0.n == barrier.n }?.missing ?? barrier.missingRankSet(world: world)
        if missing.isEmpty {
            lines.append(StyledLine("  everyone arrived; ranks are leaving", dim))
            return lines
        }
        return lines + missingLines(missing, width: width, context: context)
    }

    /// A wait's head line, then how long it has been open, the time left before the collective
    /// timeout and its site: on the same line when it holds them, else on a second one.
    static func headAndTiming(_ head: StyledLine, since: Double?, site: String?, width: Int, context: RenderContext) -> [StyledLine] {
        let dim = context.style(.dim)
        var head = head
        var timing = StyledLine()
        if let since {
            let open = context.now - since
            timing.add("open " + Format.duration(open), dim)
            if let timeout = context.model.timeout {
                let left = timeout - open
                if left >= 0 {
                    timing.add("  timeout in " + Format.duration(left), context.style(left < timeout * 0.2 ? .error : .barrierTimeout))
                } else {
                    timing.add("  timed out " + Format.duration(-left) + " ago", context.style(.error))
                }
            }
        }
        if let site {
            timing.add("  ", dim)
            timing.addPath(site, dim)
        }
        if head.width + 2 + timing.width <= width {
            head.add("  ", dim)
            head.spans += timing.spans
            return [head]
        }
        var second = StyledLine("  ", dim)
        second.spans += timing.spans
        return [head, second]
    }

    /// Up to three lines of missing ranges, then why they are missing where the run knows.
    static func missingLines(_ missing: RankSet, width: Int, context: RenderContext) -> [StyledLine] {
        let dim = context.style(.dim)
        var lines: [StyledLine] = []
        let label = "  missing \(missing.count): "
        let missingStyle = context.style(.barrierMissing)
        let room = max(8, width - label.count)
        // Up to three lines of ranges; the rest is counted.
        var remaining = missing.ranges
        for row in 0..<3 where !remaining.isEmpty {
            var text = ""
            while let run = remaining.first {
                let piece = (text.isEmpty ? "" : ", ") + RankRanges.text(run)
                if !text.isEmpty, text.count + piece.count > room - (row == 2 ? 12 : 0) { break }
                text += piece
                remaining.removeFirst()
            }
            if row == 2, !remaining.isEmpty {
                text += " +\(remaining.reduce(0) { $0 + $1.count }) more"
                remaining.removeAll()
            }
            var line = StyledLine(row == 0 ? label : String(repeating: " ", count: label.count), row == 0 ? missingStyle : dim)
            line.add(text, missingStyle)
            lines.append(line)
        }
        // Say why the missing are missing when the run knows: these are the usual culprits.
        var why: [RankCondition: [Int]] = [:]
        for r in missing {
            let condition = context.digest.condition(of: r)
            if condition != .running, condition != .waiting { why[condition, default: []].append(r) }
        }
        if !why.isEmpty {
            var line = StyledLine("  of them: ", dim)
            for (i, condition) in RankCondition.allCases.enumerated() where why[condition] != nil {
                if i > 0, line.spans.count > 1 { line.add(context.glyphs.separator, dim) }
                line.add("\(condition.label) \(RankRanges.text(why[condition]!))", context.style(condition.role))
            }
            lines.append(line)
        }
        return lines
    }

    private static func completed(_ summary: BarrierSummary, context: RenderContext) -> StyledLine {
        let dim = context.style(.dim)
        var line = StyledLine("#\(summary.n)", context.style(.text))
        if let name = summary.name ?? summary.site { line.add(" " + name, context.style(summary.name == nil ? .dim : .text)) }
        if let straggler = summary.straggler {
            line.add("  straggler ", dim)
            line.add("\(straggler)", context.style(.warning))
            line.add(" +" + Format.duration(summary.waitCaused), summary.waitCaused >= 1 ? context.style(.warning) : dim)
        }
        if let done = summary.completedAt { line.add("  " + Format.duration(context.now - done) + " ago", dim) }
        if summary.mismatched { line.add("  MISMATCH", context.style(.mismatch)) }
        return line
    }
}
