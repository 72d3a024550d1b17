import RanktopModel

/// The two header lines: the run at a glance (id, size, time, step spread, rate, drops), then
/// ranks by state, the trigger state and where the log is.
enum HeaderPanel {
    struct Flags {
        var paused: Bool
        var ended: String?
        var eventsPerSecond: Double
    }

    static func draw(into canvas: inout Canvas, rect: Rect, context: RenderContext, flags: Flags) {
        guard rect.height >= 2 else { return }
        let header = context.style(.header)
        let label = context.style(.headerLabel)
        canvas.fill(rect, style: header)
        let model = context.model
        let digest = context.digest
        let sep = context.glyphs.separator

        // Segments with a priority (lower is more important); the least important go first
        // when the line is too narrow.
        var first: [(Int, StyledLine)] = []
        first.append((4, StyledLine("ranktop", label)))
        first.append((0, pair("run ", model.run ?? "?", label, header)))
        first.append((0, pair("ranks ", "\(digest.world)", label, header)))
        first.append((3, pair("nodes ", "\(model.nodes.count)", label, header)))
        if let elapsed = digest.elapsed { first.append((1, pair("elapsed ", Format.clock(elapsed), label, header))) }
        if let lo = digest.stepMin, let mid = digest.stepMedian, let hi = digest.stepMax {
            var step = StyledLine("step ", label)
            step.add(lo == hi ? "\(lo)" : "\(lo)-\(hi) med \(mid)", header)
            first.append((1, step))
        }
        first.append((2, pair("ev/s ", Format.quantity(flags.eventsPerSecond), label, header)))
        let drops = model.droppedTotal
        first.append((drops > 0 ? 0 : 2, pair("drops ", "\(drops)", label, drops > 0 ? header.overlaid(by: context.theme.raw(.warning)) : header)))

        // The health line: `healthy`, `straggling: rank 5 +32%`, `stalled 41s: all_reduce #812, missing 5`.
        var flagLine = flags.ended == nil ? healthLine(context: context, header: label, width: rect.width / 2) : StyledLine()
        if flags.paused {
            if !flagLine.spans.isEmpty { flagLine.add(sep, header) }
        }
        if flags.paused { flagLine.add("PAUSED (p resumes)", label.overlaid(by: context.theme.raw(.warning))) }
        if let ended = flags.ended {
            if !flagLine.spans.isEmpty { flagLine.add(sep, header) }
            flagLine.add(ended, label)
        }
        lay(first, right: flagLine, into: &canvas, y: rect.y, rect: rect, separator: sep, style: header, ellipsis: context.glyphs.ellipsis)

        var second: [(Int, StyledLine)] = []
        var states = StyledLine()
        for condition in RankCondition.allCases {
            let n = digest.count(condition)
            // Running and waiting always; the others when there are any.
            if n == 0, condition != .running, condition != .waiting { continue }
            if !states.spans.isEmpty { states.add("  ", header) }
            let style = n > 0 ? header.overlaid(by: context.theme.raw(condition.role)) : header.overlaid(by: context.theme.raw(.dim))
            states.add("\(condition.label) \(n)", style)
        }
        if !digest.stalled.isEmpty {
            if !states.spans.isEmpty { states.add("  ", header) }
            states.add("stalled \(digest.stalled.count)", header.overlaid(by: context.theme.raw(.stale)))
        }
        second.append((0, states))
        second.append((0, triggerState(context: context, header: header, label: label)))
        if let log = context.options.logPath {
            var segment = StyledLine("log ", label)
            segment.addPath(log, header)
            second.append((1, segment))
        } else {
            second.append((1, pair("source ", context.options.label, label, header)))
        }
        lay(second, right: StyledLine(), into: &canvas, y: rect.y + 1, rect: rect, separator: sep, style: header, ellipsis: context.glyphs.ellipsis)
    }

    /// The run's health, right-aligned: `healthy`, `straggling: rank 5 +32%`, `stalled 41s: ...`.
    /// At most `width` columns: the run's name and size must keep their place on the line.
    static func healthLine(context: RenderContext, header: Style, width: Int) -> StyledLine {
        let health = context.health
        let role: ThemeRole
        switch health {
        case .healthy: role = .stateExited
        case .straggling, .waiting: role = .warning
        case .stalled: role = .error
        case .quiet: role = .dim
        }
        var text = health.text
        if text.count > width, width > 1 { text = String(text.prefix(width - 1)) + context.glyphs.ellipsis }
        return StyledLine(text, header.overlaid(by: context.theme.raw(role)))
    }

    static func triggerState(context: RenderContext, header: Style, label: Style) -> StyledLine {
        let model = context.model
        var line = StyledLine("trigger ", label)
        let trigger = header.overlaid(by: context.theme.raw(.trigger))
        let pending = header.overlaid(by: context.theme.raw(.triggerPending))
        if let injection = model.pendingInjections.last {
            line.add("pending \(injection.id) (next check)", pending)
        } else if let (check, causes) = model.pendingCauses.min(by: { $0.key < $1.key }), let cause = causes.first {
            line.add("set by \(cause.rank.map { "rank \($0)" } ?? "?") for check #\(check)", pending)
        } else if let firing = model.firings.last {
            line.add("fired at check #\(firing.check)" + (firing.step.map { " (step \($0))" } ?? ""), trigger)
        } else {
            line.add("none", header)
        }
        return line
    }

    private static func pair(_ name: String, _ value: String, _ label: Style, _ value_: Style) -> StyledLine {
        var line = StyledLine(name, label)
        line.add(value, value_)
        return line
    }

    /// Segments left to right with separators; the least important are left out until the rest
    /// fit, and a last one with a path (the log's) is shortened rather than left out. `right` is
    /// right-aligned and always shown.
    private static func lay(_ segments: [(Int, StyledLine)], right: StyledLine, into canvas: inout Canvas, y: Int, rect: Rect, separator: String, style: Style, ellipsis: String) {
        let rightWidth = right.width
        let rightStart = rect.maxX - 1 - rightWidth
        if rightWidth > 0 { right.draw(into: &canvas, x: rightStart, y: y, width: rightWidth, ellipsis: "") }
        let limit = (rightWidth > 0 ? rightStart - 2 : rect.maxX - 1) - rect.x - 1
        let sepWidth = TextWidth.columns(of: separator)
        var kept = segments
        func width(_ list: [(Int, StyledLine)]) -> Int {
            list.reduce(0) { $0 + $1.1.width } + max(0, list.count - 1) * sepWidth
        }
        while width(kept) > limit, let worst = kept.map(\.0).max(), worst > 0 || kept.count > 1 {
            // A last segment holding a path (the log's) is shortened to fit instead, when what
            // is before it and its file name fit; other segments go whole, since half a clock or
            // a count misleads.
            if let last = kept.last, last.1.spans.contains(where: \.path), last.0 <= worst,
               width(Array(kept.dropLast())) + sepWidth + last.1.shortened(toFit: 0, ellipsis: ellipsis).width <= limit {
                break
            }
            guard let index = kept.lastIndex(where: { $0.0 == worst }) else { break }
            kept.remove(at: index)
        }
        var x = rect.x + 1
        let end = rect.x + 1 + limit
        for (i, segment) in kept.enumerated() {
            if i > 0 { x = canvas.put(separator, x: x, y: y, style: style, limit: end) }
            guard x < end else { break }
            let w = min(segment.1.width, end - x)
            segment.1.draw(into: &canvas, x: x, y: y, width: w, ellipsis: ellipsis)
            x += w
        }
    }
}
