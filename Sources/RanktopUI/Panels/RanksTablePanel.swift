import RanktopModel

/// A row per rank: rank, node, state, progress, it/s, ETA, lag, how much slower its steps are than
/// the run's (`SLOW`, the straggler score), where it is, age of its last event.
/// Columns that do not fit are dropped, least useful first.
enum RanksTablePanel {
    struct Geometry {
        /// Where the rows are drawn; row i shows `order[scroll + i]`.
        var rows: Rect
        var scroll: Int
    }

    enum Column: CaseIterable {
        case rank, node, state, bar, progress, rate, eta, lag, slow, whereAt, age
    }

    struct Widths {
        var rank = 4, node = 4, state = 7, bar = 0, progress = 0, rate = 5, eta = 6, lag = 5, slow = 5, whereAt = 12, age = 5
        var shown: Set<Column> = Set(Column.allCases)
    }

    /// Height the panel wants for `count` rows: frame and heading included.
    static func wantedHeight(rows count: Int) -> Int { count + 3 }

    static func draw(
        into canvas: inout Canvas, rect: Rect, order: [Int], selected: Int?, scroll: Int, focused: Bool,
        title: StyledLine, context: RenderContext
    ) -> Geometry {
        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title, focused: focused, context: context)
        guard inner.height >= 2 else { return Geometry(rows: Rect(x: inner.x, y: inner.y, width: inner.width, height: 0), scroll: 0) }
        let rowsRect = Rect(x: inner.x, y: inner.y + 1, width: inner.width, height: inner.height - 1)
        let visible = rowsRect.height
        var top = max(0, min(scroll, order.count - visible))
        if let selected, let index = order.firstIndex(of: selected) {
            if index < top { top = index }
            if index >= top + visible { top = index - visible + 1 }
        }
        let rows = Array(order.dropFirst(top).prefix(visible))
        let slowness = RanksTablePanel.slowness(context.scores)
        var texts: [Int: RowText] = [:]
        for rank in rows { texts[rank] = rowText(rank, slowness: slowness[rank], context: context) }
        let widths = columnWidths(for: rows, texts: texts, world: context.digest.world, width: inner.width, context: context)
        drawHeading(into: &canvas, x: inner.x, y: inner.y, widths: widths, context: context)
        for (i, rank) in rows.enumerated() {
            let y = rowsRect.y + i
            guard let row = texts[rank] else { continue }
            drawRow(into: &canvas, rank: rank, x: inner.x, y: y, widths: widths, row: row, context: context)
            if rank == selected {
                canvas.restyle(Rect(x: inner.x, y: y, width: inner.width, height: 1), overlay: context.theme.raw(.selection))
            }
        }
        if order.isEmpty {
            canvas.put(context.digest.world == 0 ? "waiting for the first rank to say hello" : "no rank matches the filter (Esc clears it)",
                       x: inner.x + 1, y: rowsRect.y, style: context.style(.dim), limit: inner.maxX)
        }
        if order.count > visible {
            let dim = context.style(.dim)
            if top > 0 { canvas.put(context.glyphs.arrowUp, x: inner.maxX - 1, y: rowsRect.y, style: dim) }
            if top + visible < order.count { canvas.put(context.glyphs.arrowDown, x: inner.maxX - 1, y: rowsRect.maxY - 1, style: dim) }
        }
        return Geometry(rows: rowsRect, scroll: top)
    }

    /// What one row shows, worked out once: the widths come from it, then the row is drawn from it.
    struct RowText {
        var rate: String
        var eta: String
        var lag: Int?
        var slow: String
        var straggling: Bool
        var whereAt: StyledLine
    }

    static func rowText(_ rank: Int, slowness: Double?, context: RenderContext) -> RowText {
        let info = context.model.rank(rank)
        let condition = context.digest.condition(of: rank)
        // A stalled rank's rate and ETA are those of before the stall: frozen, they would mislead.
        let stalled = context.digest.isStalled(rank)
        // An ended rank's steps are history: only the live ones are compared.
        let live = condition == .running || condition == .waiting
        let percent = live ? slowness.map { Int(($0 * 100).rounded()) } : nil
        return RowText(
            rate: stalled ? "-" : RankText.rate(info), eta: stalled ? "-" : RankText.eta(info), lag: context.digest.lag(of: rank),
            slow: percent.map { $0 > 0 ? "+\($0)%" : "\($0)%" } ?? "-",
            straggling: live && (slowness ?? 0) >= RunHealth.stragglerThreshold,
            whereAt: RankText.whereText(info, condition: condition, context: context)
        )
    }

    static let barWidths = 8...40

    /// Columns as wide as what the shown rows put in them. A column with nothing to say for any
    /// of them (every rate `-` once the run stalled) is left out; what is left of the width goes
    /// to the progress bar, up to 40 cells, and then to WHERE. Where WHERE still cuts its text,
    /// the least useful columns give way.
    static func columnWidths(for rows: [Int], texts: [Int: RowText], world: Int, width: Int, context: RenderContext) -> Widths {
        var w = Widths()
        w.rank = max(4, "\(max(0, world - 1))".count)
        var longestNode = 4, longestProgress = 0, whereNeed = 5
        for r in rows {
            let info = context.model.rank(r)
            longestNode = max(longestNode, TextWidth.columns(of: info?.node ?? ""))
            longestProgress = max(longestProgress, RankText.progressText(info).count)
            whereNeed = max(whereNeed, texts[r]?.whereAt.width ?? 0)
        }
        w.node = min(longestNode, 12)
        w.progress = longestProgress
        let shown = rows.compactMap { texts[$0] }
        if !shown.isEmpty {
            if shown.allSatisfy({ $0.rate == "-" }) { w.shown.remove(.rate) }
            if shown.allSatisfy({ $0.eta == "-" }) { w.shown.remove(.eta) }
            if shown.allSatisfy({ $0.slow == "-" }) { w.shown.remove(.slow) }
        }
        func used() -> Int {
            var total = 0
            if w.shown.contains(.rank) { total += w.rank + 1 }
            total += w.node + 1 + w.state + 1
            if w.progress > 0 { total += w.progress + 1 }
            if w.shown.contains(.rate) { total += w.rate + 1 }
            if w.shown.contains(.eta) { total += w.eta + 1 }
            if w.shown.contains(.lag) { total += w.lag + 1 }
            if w.shown.contains(.slow) { total += w.slow + 1 }
            if w.shown.contains(.age) { total += w.age + 1 }
            return total
        }
        // Give up columns until the bar and the where column have room, and then while WHERE
        // would cut what it has to say (the ETA and rate first: the progress says most of them).
        for column in [Column.eta, .age, .rate, .slow, .lag] where width - used() < 8 + 16 {
            w.shown.remove(column)
        }
        for column in [Column.eta, .rate] where width - used() - barWidths.lowerBound - 1 < whereNeed {
            w.shown.remove(column)
        }
        let rest = width - used()
        w.bar = min(max(rest - whereNeed - 1, barWidths.lowerBound), barWidths.upperBound)
        if rest - w.bar - 1 < 10 { w.bar = max(0, rest - 11) }
        w.whereAt = max(0, rest - w.bar - (w.bar > 0 ? 1 : 0))
        return w
    }

    private static func drawHeading(into canvas: inout Canvas, x: Int, y: Int, widths w: Widths, context: RenderContext) {
        let style = context.style(.title)
        var col = x
        func cell(_ text: String, _ width: Int, right: Bool = false) {
            guard width > 0 else { return }
            canvas.put(right ? Format.right(text, width) : text, x: col, y: y, style: style, limit: col + width)
            col += width + 1
        }
        cell("RANK", w.rank, right: true)
        cell("NODE", w.node)
        cell("STATE", w.state)
        cell("PROGRESS", w.bar + (w.progress > 0 ? w.progress + 1 : 0))
        if w.shown.contains(.rate) { cell("IT/S", w.rate, right: true) }
        if w.shown.contains(.eta) { cell("ETA", w.eta, right: true) }
        if w.shown.contains(.lag) { cell("LAG", w.lag, right: true) }
        if w.shown.contains(.slow) { cell("SLOW", w.slow, right: true) }
        cell("WHERE", w.whereAt)
        if w.shown.contains(.age) { cell("AGE", w.age, right: true) }
    }

    /// Each rank's typical step against the run's, minus one (0.32: 32% slower), where known.
    static func slowness(_ scores: [StragglerScore]) -> [Int: Double] {
        var out: [Int: Double] = [:]
        for score in scores { if let relative = score.relativeStepTime { out[score.rank] = relative - 1 } }
        return out
    }

    private static func drawRow(
        into canvas: inout Canvas, rank: Int, x: Int, y: Int, widths w: Widths, row: RowText, context: RenderContext
    ) {
        let info = context.model.rank(rank)
        let condition = context.digest.condition(of: rank)
        let text = context.style(.text)
        let dim = context.style(.dim)
        let ellipsis = context.glyphs.ellipsis
        var col = x
        canvas.put(Format.right("\(rank)", w.rank), x: col, y: y, style: text)
        col += w.rank + 1
        canvas.put(info?.node ?? "-", x: col, y: y, width: w.node, style: dim, ellipsis: ellipsis)
        col += w.node + 1
        // Stalled says more than running or waiting: alive, and going nowhere.
        if (condition == .running || condition == .waiting), context.digest.isStalled(rank) {
            canvas.put("stalled", x: col, y: y, style: context.style(.stale), limit: col + w.state)
        } else {
            canvas.put(condition.label, x: col, y: y, style: context.style(condition.role), limit: col + w.state)
        }
        col += w.state + 1
        if w.bar > 0 {
            RankText.drawBar(into: &canvas, x: col, y: y, width: w.bar, fraction: info?.fractionDone, context: context)
            col += w.bar + 1
        }
        if w.progress > 0 {
            canvas.put(Format.right(RankText.progressText(info), w.progress), x: col, y: y, style: text)
            col += w.progress + 1
        }
        if w.shown.contains(.rate) {
            canvas.put(Format.right(row.rate, w.rate), x: col, y: y, style: text)
            col += w.rate + 1
        }
        if w.shown.contains(.eta) {
            canvas.put(Format.right(row.eta, w.eta), x: col, y: y, style: dim)
            col += w.eta + 1
        }
        if w.shown.contains(.lag) {
            canvas.put(Format.right(row.lag.map { "\($0)" } ?? "-", w.lag), x: col, y: y, style: (row.lag ?? 0) > 0 ? context.style(.warning) : dim)
            col += w.lag + 1
        }
        if w.shown.contains(.slow) {
            canvas.put(Format.right(row.slow, w.slow), x: col, y: y, style: row.straggling ? context.style(.warning) : dim, limit: col + w.slow)
            col += w.slow + 1
        }
        row.whereAt.draw(into: &canvas, x: col, y: y, width: w.whereAt, ellipsis: ellipsis)
        col += w.whereAt + 1
        if w.shown.contains(.age) {
            let stale = condition == .stale
            let age = (stale ? context.glyphs.warning : "") + RankText.age(info, now: context.now)
            canvas.put(Format.right(age, w.age), x: col, y: y, style: stale ? context.style(.stale) : dim, limit: col + w.age)
        }
    }
}
