import RanktopModel

/// The words and numbers shown for one rank, shared by the table, the grid's side box and the
/// detail view.
enum RankText {
    /// Where the rank is: the barrier it waits in (#n, name, for how long), its phase, or how it
    /// ended.
    static func whereText(_ info: RankInfo?, condition: RankCondition, context: RenderContext) -> StyledLine {
        guard let info else { return StyledLine("never heard from", context.style(.stateSilent)) }
        switch info.status {
        case .exited:
            return StyledLine("exited" + (info.exitCode.map { " (code \($0))" } ?? ""), context.style(.stateExited))
        case .stopped:
            return StyledLine("stopped" + (info.exitCode.map { " (code \($0))" } ?? ""), context.style(.stateExited))
        case .failed:
            var text = "failed"
            if let code = info.exitCode { text += " code \(code)" }
            if let error = info.error { text += ": " + Format.oneLine(error) }
            return StyledLine(text, context.style(.stateFailed))
        case .lost:
            return StyledLine("lost" + (info.lostReason.map { ": " + Format.oneLine($0) } ?? ""), context.style(.stateLost))
        case .running, .waiting:
            break
        }
        if let barrier = info.barrier {
            var line = StyledLine("#\(barrier.n)", context.style(.barrier))
            if let name = barrier.name ?? barrier.site { line.add(" " + name, context.style(.barrier)) }
            let waited = context.now - barrier.since
            line.add(" " + Format.duration(waited), context.style(waited >= 10 ? .warning : .dim))
            return line
        }
        if let collective = info.currentCollective, !collective.isAsync || context.now - collective.since >= RunSnapshot.collectiveNoticeAfter {
            // `all_reduce #812 ddp.gradients 41s`: the op and ordinal match the waits panel.
            var line = StyledLine("\(collective.op) #\(collective.n)", context.style(.barrier))
            if let label = collective.label { line.add(" " + label, context.style(.barrier)) }
            if collective.group != "world" { line.add(" [\(collective.group)]", context.style(.dim)) }
            let waited = context.now - collective.since
            line.add(" " + Format.duration(waited), context.style(waited >= 10 ? .warning : .dim))
            return line
        }
        if let phase = info.phase {
            return StyledLine("phase \(phase.name) (\(partLabel(phase.part)))", context.style(phase.main ? .phaseMain : .phase))
        }
        if context.digest.isStalled(info.rank) { return stalledOutsideWaits(info, context: context) }
        return StyledLine()
    }

    /// A stalled rank in no barrier, collective or phase is the likely culprit: where its last
    /// stack (taken since it last moved) has it, else for how long it has not moved.
    static func stalledOutsideWaits(_ info: RankInfo, context: RenderContext) -> StyledLine {
        let since = info.lastActivityTs ?? info.firstTs
        if let stack = info.lastStack, stack.ts >= since, let innermost = StackFrame.parse(stack.frames).last {
            var line = StyledLine("in " + innermost.function, context.style(.warning))
            if let location = innermost.location {
                line.add(" ", context.style(.dim))
                line.addPath(location, context.style(.dim))
            }
            return line
        }
        return StyledLine("no progress for " + Format.duration(context.now - since), context.style(.warning))
    }

    static func partLabel(_ part: PhasePart) -> String {
        switch part {
        case .main: "main part"
        case .mainDone: "main done"
        case .waitingForMain: "waiting for main"
        case .others: "others' part"
        }
    }

    /// `120/1000 12%`, or `step 120` without a total.
    static func progressText(_ info: RankInfo?) -> String {
        guard let info, let step = info.step else { return "" }
        guard let total = info.total, total > 0 else { return "step \(step)" }
        let pct = Int(min(Double(step) / Double(total) * 100, 100).rounded(.down))
        return "\(step)/\(total) " + Format.right("\(pct)%", 4)
    }

    static func eta(_ info: RankInfo?) -> String {
        guard let info, !info.status.isTerminal, let step = info.step, let total = info.total, let rate = info.stepRate, rate > 0 else { return "-" }
        if step >= total { return "done" }
        return Format.duration(Double(total - step) / rate)
    }

    static func rate(_ info: RankInfo?) -> String {
        guard let info, !info.status.isTerminal, let rate = info.stepRate else { return "-" }
        return Format.quantity(rate)
    }

    static func age(_ info: RankInfo?, now: Double) -> String {
        guard let info else { return "-" }
        return Format.duration(now - info.lastTs)
    }

    /// A progress bar of `width` cells: filled part, then track.
    static func drawBar(into canvas: inout Canvas, x: Int, y: Int, width: Int, fraction: Double?, context: RenderContext) {
        guard width > 0 else { return }
        guard let fraction else {
            canvas.fill(Rect(x: x, y: y, width: width, height: 1), with: context.glyphs.barTrack, style: context.style(.progressTrack))
            return
        }
        let filled = Int((min(max(fraction.isFinite ? fraction : 0, 0), 1) * Double(width)).rounded(.down))
        canvas.fill(Rect(x: x, y: y, width: filled, height: 1), with: context.glyphs.barFill, style: context.style(.progressFill))
        canvas.fill(Rect(x: x + filled, y: y, width: width - filled, height: 1), with: context.glyphs.barTrack, style: context.style(.progressTrack))
    }
}
