import RanktopModel
import RanktopProtocol

/// One rank in full (`Enter`): identity, progress, where it is, sparklines of its barrier waits
/// and step times (and, with room, charts of its step times and of its waits per step), its
/// metrics, its recent events and its stack on demand (`d`).
enum RankDetailPanel {
    static func draw(into canvas: inout Canvas, rect: Rect, rank: Int, stackRequest: StackRequest?, context: RenderContext) {
        let info = context.model.rank(rank)
        let condition = context.digest.condition(of: rank)
        var title = StyledLine("RANK \(rank)", context.style(.titleFocused))
        if let node = info?.node { title.add("  " + node, context.style(.text)) }
        title.add("  " + condition.label, context.style(condition.role))
        title.add("  (\(context.glyphs.arrowUp)\(context.glyphs.arrowDown) rank" + (context.options.canControl ? ", d stack" : "") + ", Esc back)", context.style(.dim))
        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title, focused: true, context: context)
        guard inner.height > 0 else { return }
        let summary = summaryLines(info, rank: rank, condition: condition, width: inner.width, context: context)

        let summaryHeight = min(summary.count, inner.height)
        LineList.draw(summary, into: &canvas, rect: Rect(x: inner.x + 1, y: inner.y, width: inner.width - 2, height: summaryHeight), scroll: 0, context: context)

        let events = eventLines(info, context: context)
        var below = Rect(x: inner.x + 1, y: inner.y + summaryHeight + 1, width: inner.width - 2, height: inner.height - summaryHeight - 1)
        // Charts of its own steps when there is room for them and for a few events below.
        if let info, below.height >= chartsHeight + 6, below.width >= 40 {
            drawCharts(info, into: &canvas, rect: Rect(x: below.x, y: below.y, width: below.width, height: chartsHeight), context: context)
            below = Rect(x: below.x, y: below.y + chartsHeight + 1, width: below.width, height: below.height - chartsHeight - 1)
        }
        let stackWidth = inner.width >= 110 ? below.width - below.width / 2 - 1 : below.width
        let stack = stackLines(info, rank: rank, request: stackRequest, width: stackWidth, context: context)
        if inner.width >= 110 {
            let (left, right) = below.splitLeft(below.width / 2)
            drawSection("recent events", events, into: &canvas, rect: Rect(x: left.x, y: left.y, width: left.width - 1, height: left.height), bottomAligned: true, context: context)
            drawSection("stack", stack, into: &canvas, rect: Rect(x: right.x + 1, y: right.y, width: right.width - 1, height: right.height), bottomAligned: false, context: context)
        } else if stackRequest != nil || info?.lastStack != nil {
            // Narrow: the stack takes the place of the events once asked for.
            drawSection("stack", stack, into: &canvas, rect: below, bottomAligned: false, context: context)
        } else {
            drawSection("recent events", events, into: &canvas, rect: below, bottomAligned: true, context: context)
        }
    }

    static let chartsHeight = 7

    /// Its recent step times, and how much of each step it spent waiting for the others (in
    /// barriers and blocking collectives): a straggler's waits are near zero, the others' are
    /// what it costs them.
    private static func drawCharts(_ info: RankInfo, into canvas: inout Canvas, rect: Rect, context: RenderContext) {
        let steps = Array(info.recentStepTimes)
        let busy = Array(info.recentBusyTimes)
        let waits = zip(steps, busy).map { max(0, $0 - $1) }
        let last = info.step ?? steps.count
        let labels = steps.isEmpty ? nil : (first: "step \(max(0, last - steps.count + 1))", last: "step \(last)")
        let (left, right) = rect.splitLeft(rect.width / 2)
        let sections: [(String, Rect, [Chart.Column])] = [
            ("step time" + (steps.last.map { context.glyphs.separator + "last " + Format.duration($0) } ?? ""), left,
             steps.map { Chart.Column(min: $0, median: $0, max: $0) }),
            ("waiting for the others, per step" + (waits.last.map { context.glyphs.separator + "last " + Format.duration($0) } ?? ""),
             Rect(x: right.x + 2, y: right.y, width: right.width - 2, height: right.height),
             waits.map { Chart.Column(min: 0, median: $0, max: $0) }),
        ]
        for (name, area, band) in sections {
            canvas.put(name, x: area.x, y: area.y, style: context.style(.title), limit: area.maxX)
            Chart.draw(into: &canvas, rect: Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1), band: band,
                       xLabels: labels, format: { Format.duration($0) }, context: context)
        }
    }

    private static func drawSection(_ name: String, _ lines: [StyledLine], into canvas: inout Canvas, rect: Rect, bottomAligned: Bool, context: RenderContext) {
        guard rect.height >= 2 else { return }
        let rule = String(repeating: String(context.glyphs.horizontal), count: max(0, rect.width - name.count - 4))
        var head = StyledLine(String(context.glyphs.horizontal) + " ", context.style(.border))
        head.add(name, context.style(.title))
        head.add(" " + rule, context.style(.border))
        head.draw(into: &canvas, x: rect.x, y: rect.y, width: rect.width, ellipsis: "")
        let body = Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: rect.height - 1)
        LineList.draw(lines, into: &canvas, rect: body, scroll: bottomAligned ? lines.count : 0, context: context)
    }

    static func summaryLines(_ info: RankInfo?, rank: Int, condition: RankCondition, width: Int, context: RenderContext) -> [StyledLine] {
        let dim = context.style(.dim)
        let text = context.style(.text)
        guard let info else {
            return [StyledLine("Rank \(rank) has not said hello: it never connected, or its events were lost.", context.style(.stateSilent))]
        }
        func label(_ name: String) -> StyledLine { StyledLine(Format.left(name, 9), dim) }
        var lines: [StyledLine] = []

        var identity = label("process")
        identity.add("pid \(info.pid.map(String.init) ?? "?")", text)
        if let local = info.localRank { identity.add("  local rank \(local)", text) }
        if info.restarts > 0 { identity.add("  restarts \(info.restarts)", context.style(.warning)) }
        identity.add("  dropped \(info.dropped)", info.dropped > 0 ? context.style(.warning) : dim)
        lines.append(identity)
        var runtime = label("runtime")
        runtime.add(info.runtime ?? "?", text)
        if !info.caps.isEmpty { runtime.add("  caps " + info.caps.joined(separator: ","), dim) }
        lines.append(runtime)

        var progress = label("progress")
        if info.step != nil {
            progress.add(RankText.progressText(info), text)
            progress.add("  \(RankText.rate(info)) it/s  ETA \(RankText.eta(info))", dim)
            if let lag = context.digest.lag(of: rank) { progress.add("  lag \(lag)", lag > 0 ? context.style(.warning) : dim) }
            if let epoch = info.epoch { progress.add("  epoch " + Format.metric(epoch), dim) }
        } else {
            progress.add("no progress reported yet", dim)
        }
        lines.append(progress)

        var now = label("now")
        let whereText = RankText.whereText(info, condition: condition, context: context)
        if whereText.spans.isEmpty { now.add(condition == .stale ? "silent for " + RankText.age(info, now: context.now) : "training", context.style(condition.role)) }
        now.spans += whereText.spans
        if let site = info.barrier?.site { now.add("  at " + site, dim) }
        now.add("  last event " + RankText.age(info, now: context.now) + " ago", condition == .stale ? context.style(.stale) : dim)
        lines.append(now)
        if let phase = info.phase, info.barrier != nil {
            var line = label("phase")
            line.add("\(phase.name) (\(RankText.partLabel(phase.part)))", context.style(.phase))
            lines.append(line)
        }

        let sparkWidth = max(8, min(32, width / 3))
        lines.append(sparkline("waits", Array(info.recentWaits), width: sparkWidth, empty: "no barrier yet", context: context) { values in
            "  last " + Format.duration(values.last!) + "  max " + Format.duration(values.max()!)
        })
        lines.append(sparkline("steps", Array(info.recentStepTimes), width: sparkWidth, empty: "no step times yet", context: context) { values in
            "  last " + Format.duration(values.last!) + "  mean " + Format.duration(values.reduce(0, +) / Double(values.count))
        })

        var metrics = label("metrics")
        if info.metrics.isEmpty { metrics.add("none reported", dim) }
        for (i, metric) in info.metrics.enumerated() {
            if i > 0 { metrics.add("  ", dim) }
            metrics.add(metric.name + " ", dim)
            metrics.add(Format.metric(metric.value), text)
        }
        lines.append(metrics)
        if let log = info.lastLog {
            var line = label("last log")
            line.add("\(log.level.rawValue): \(Format.oneLine(log.msg))", context.style(log.level == .error ? .error : log.level == .warning ? .warning : .text))
            lines.append(line)
        }
        return lines
    }

    /// `waits    ▁▂▁▇▁  last 0.4s  max 3.2s`: a labelled sparkline and what its scale means.
    private static func sparkline(_ name: String, _ values: [Double], width: Int, empty: String, context: RenderContext, stats: ([Double]) -> String) -> StyledLine {
        var line = StyledLine(Format.left(name, 9), context.style(.dim))
        if values.isEmpty {
            line.add(empty, context.style(.dim))
        } else {
            line.add(Sparkline.text(values, width: width, glyphs: context.glyphs), context.style(.sparkline))
            line.add(stats(values), context.style(.dim))
        }
        return line
    }

    static func eventLines(_ info: RankInfo?, context: RenderContext) -> [StyledLine] {
        // Heartbeats are left out: the age of the last event says the same.
        let events = info?.recentEvents.filter { $0.kind != .heartbeat } ?? []
        guard !events.isEmpty else { return [StyledLine("no events kept for this rank", context.style(.dim))] }
        return events.map { EventsPanel.styledLine(for: $0, context: context) }
    }

    static func stackLines(_ info: RankInfo?, rank: Int, request: StackRequest?, width: Int, context: RenderContext) -> [StyledLine] {
        let dim = context.style(.dim)
        var lines: [StyledLine] = []
        let answersStacks = info?.caps.contains("stack") ?? false
        if let stack = info?.lastStack, request.map({ stack.ts >= $0.at - 5 }) ?? true {
            lines.append(StyledLine("\(stack.id), " + Format.duration(context.now - stack.ts) + " ago, innermost first", dim))
            for frame in StackFrame.parse(stack.frames).reversed() { lines.append(StacksView.frameLine(frame, width: width, context: context)) }
        } else if let request {
            let asked = Format.duration(context.now - request.at)
            if let failure = request.failure {
                lines.append(StyledLine("the request failed: \(failure)", context.style(.error)))
            } else if request.expired(now: context.now) {
                lines.append(StyledLine("no answer after \(asked)", context.style(.warning)))
            } else {
                lines.append(StyledLine("requested \(asked) ago; waiting for the rank's answer", context.style(.triggerPending)))
            }
        }
        if lines.isEmpty {
            if !context.options.canControl {
                lines.append(StyledLine("stacks cannot be requested from a replayed log", dim))
            } else if answersStacks {
                lines.append(StyledLine("press d to ask this rank for its training thread's stack", dim))
            } else {
                lines.append(StyledLine("this rank's runtime does not announce stack answers; d asks anyway", dim))
            }
        }
        return lines
    }
}
