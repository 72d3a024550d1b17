import RanktopModel

/// What the timeline line shows of a replay: where the position is, the pace, the marks.
public struct ReplayBar: Sendable {
    public var clock: Double
    public var overview: ReplayOverview
    public var speedLabel: String
    public var playing: Bool
    public var live: Bool

    public init(clock: Double, overview: ReplayOverview, speedLabel: String, playing: Bool, live: Bool) {
        self.clock = clock
        self.overview = overview
        self.speedLabel = speedLabel
        self.playing = playing
        self.live = live
    }
}

/// The replay's line above the footer: the REPLAY badge with the replay clock and the speed,
/// then a bar of the whole log with the position and a mark at each notable moment, then how
/// far the first pass has read and how many lines were not events.
enum TimelineBar {
    static func draw(into canvas: inout Canvas, rect: Rect, bar: ReplayBar, context: RenderContext) {
        guard rect.height >= 1, rect.width > 0 else { return }
        let glyphs = context.glyphs
        let ascii = glyphs == .ascii
        let base = context.style(.footer)
        canvas.fill(rect, style: base)
        let badgeStyle = context.style(.headerLabel).overlaid(by: context.theme.raw(bar.live ? .stateRunning : .warning)).overlaid(by: Style(.reverse))
        let state = bar.live ? "LIVE" : (bar.playing ? (ascii ? ">" : "▶") : (ascii ? "||" : "⏸"))
        var line = StyledLine(" \(bar.live ? "LIVE" : "REPLAY") ", badgeStyle)
        if !bar.live { line.add(" \(state) \(bar.speedLabel)", context.style(.footerKey)) }
        let start = bar.overview.start
        line.add("  " + Format.timeOfDay(bar.clock, offset: context.options.utcOffset), context.style(.footerKey))
        if let start {
            var at = " +" + Format.clock(max(0, bar.clock - start))
            if let end = bar.overview.end { at += "/" + Format.clock(max(0, end - start)) }
            line.add(at, base)
        }
        line.add("  ", base)
        var right = StyledLine()
        if !bar.overview.moments.isEmpty {
            right.add("  \(bar.overview.moments.count) marked", base)
        }
        if !bar.overview.complete, bar.overview.indexed >= 1 {
            right.add("  following", base)
        } else if !bar.overview.complete {
            right.add("  reading \(Int((bar.overview.indexed * 100).rounded(.down)))%", context.style(.warning))
        }
        if bar.overview.rejected > 0 {
            right.add("  \(bar.overview.rejected) bad line\(bar.overview.rejected == 1 ? "" : "s")", context.style(.error))
        }
        right.add(" ", base)
        line.draw(into: &canvas, x: rect.x, y: rect.y, width: rect.width, ellipsis: glyphs.ellipsis)
        let barX = rect.x + line.width
        let barWidth = rect.width - line.width - right.width
        if barWidth >= 10 {
            drawBar(into: &canvas, x: barX, y: rect.y, width: barWidth, bar: bar, context: context)
            right.draw(into: &canvas, x: barX + barWidth, y: rect.y, width: right.width, ellipsis: glyphs.ellipsis)
        }
    }

    private static func drawBar(into canvas: inout Canvas, x: Int, y: Int, width: Int, bar: ReplayBar, context: RenderContext) {
        let ascii = context.glyphs == .ascii
        guard let start = bar.overview.start, let end = bar.overview.end, end > start else {
            canvas.put(String(repeating: ascii ? "-" : "─", count: width), x: x, y: y, style: context.style(.progressTrack))
            return
        }
        func column(_ time: Double) -> Int {
            let fraction = min(1, max(0, (time - start) / (end - start)))
            return x + min(width - 1, Int(fraction * Double(width - 1) + 0.5))
        }
        let position = column(bar.clock)
        for col in x..<(x + width) {
            let done = col < position
            canvas.put(done ? (ascii ? "=" : "━") : (ascii ? "-" : "─"), x: col, y: y,
                       style: context.style(done ? .progressFill : .progressTrack))
        }
        // The worst mark wins a column: a hang over a trigger that shares it.
        var marks: [Int: NotableMoment.Kind] = [:]
        for moment in bar.overview.moments {
            let col = column(moment.time)
            if let held = marks[col], severity(held) >= severity(moment.kind) { continue }
            marks[col] = moment.kind
        }
        for (col, kind) in marks {
            canvas.put(ascii ? "!" : "◆", x: col, y: y, style: context.style(role(kind)))
        }
        canvas.put(ascii ? "|" : "┃", x: position, y: y, style: context.style(.footerKey).overlaid(by: Style(.bold)))
    }

    static func severity(_ kind: NotableMoment.Kind) -> Int {
        switch kind {
        case .hang, .failure, .mismatch: 3
        case .loss, .stall, .straggler: 2
        case .trigger: 1
        }
    }

    static func role(_ kind: NotableMoment.Kind) -> ThemeRole {
        switch kind {
        case .hang, .failure, .mismatch: .error
        case .loss, .stall, .straggler: .warning
        case .trigger: .trigger
        }
    }
}
