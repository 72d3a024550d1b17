import RanktopModel

/// One cell per rank, by state, for runs whose rows do not fit: 4096 ranks fit a 200x50 terminal.
/// While barriers or collectives are open, a rank inside one shows its letter and a rank missing
/// from the oldest shows `!` (`GridWaits`). A legend line on top (the waits first), rows labelled
/// with their first rank, and the selected rank detailed in a box beside the grid.
enum RankGridPanel {
    struct Geometry {
        /// Top-left cell of the grid (rank `firstRow * columns` is there).
        var origin: (x: Int, y: Int)
        var columns: Int
        var visibleRows: Int
        var firstRow: Int
    }

    static let sideWidth = 34

    /// Cells per grid row for `world` ranks in `width` columns: a power of two (tidy row labels)
    /// unless everything fits one row.
    static func columns(world: Int, width: Int) -> Int {
        guard width > 0 else { return 1 }
        if world <= width { return max(1, world) }
        var p = 1
        while p * 2 <= width { p *= 2 }
        return p
    }

    static func labelWidth(world: Int) -> Int { "\(max(0, world - 1))".count + 1 }

    /// The grid's usable width inside a panel of `width` columns.
    static func gridWidth(world: Int, panelWidth: Int) -> Int {
        let inner = panelWidth - 2
        let side = inner - labelWidth(world: world) - 1 >= sideWidth + 16 ? sideWidth + 1 : 0
        return inner - labelWidth(world: world) - side
    }

    /// Height the panel wants: frame, legend and every grid row.
    static func wantedHeight(world: Int, panelWidth: Int) -> Int {
        let cols = columns(world: world, width: gridWidth(world: world, panelWidth: panelWidth))
        return (world + cols - 1) / max(1, cols) + 3
    }

    static func draw(
        into canvas: inout Canvas, rect: Rect, filter: RankFilter, selected: Int?, focused: Bool,
        title: StyledLine, context: RenderContext
    ) -> Geometry {
        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title, focused: focused, context: context)
        let world = context.digest.world
        let label = labelWidth(world: world)
        let gridW = gridWidth(world: world, panelWidth: rect.width)
        let cols = columns(world: world, width: gridW)
        guard inner.height >= 2, gridW > 0 else { return Geometry(origin: (inner.x, inner.y), columns: cols, visibleRows: 0, firstRow: 0) }
        let waits = GridWaits(digest: context.digest)
        drawLegend(into: &canvas, x: inner.x, y: inner.y, width: inner.width, waits: waits, context: context)

        let totalRows = (world + cols - 1) / cols
        let visibleRows = inner.height - 1
        var firstRow = 0
        if let selected, totalRows > visibleRows {
            firstRow = min(max(0, selected / cols - visibleRows / 2), totalRows - visibleRows)
        }
        let originX = inner.x + label
        let originY = inner.y + 1
        let dim = context.style(.dim)
        let selection = context.theme.raw(.selection).overlaid(by: Style(.reverse))
        // Fields read where the ranks' states lie (through the buffer's addresses): `model.rank(r)`,
        // or even `slots[r]?.currentCollective` on the array, copied a whole `RankInfo` (retaining
        // each of its arrays) per cell and per frame, which made an idle 4096-rank grid 1.4% of a
        // core for its once-a-second redraw.
        context.model.rankSlots.withUnsafeBufferPointer { slots in
            for row in 0..<min(visibleRows, totalRows - firstRow) {
                let gridRow = firstRow + row
                let y = originY + row
                canvas.put(Format.right("\(gridRow * cols)", label - 1), x: inner.x, y: y, style: dim)
                for col in 0..<cols {
                    let rank = gridRow * cols + col
                    guard rank < world else { break }
                    let condition = context.digest.condition(of: rank)
                    var style = context.style(of: condition)
                    var glyph = Character(condition.gridGlyph(context.glyphs))
                    let heard = rank < slots.count
                    // A wait says more than "waiting": which one, or that the others wait for this rank.
                    if !waits.isEmpty, condition != .failed, condition != .lost,
                       let (letter, missing) = waits.glyph(
                           of: rank, collective: heard ? slots[rank]?.currentCollective : nil,
                           barrier: heard ? slots[rank]?.barrier?.n : nil
                       ) {
                        glyph = letter
                        style = context.style(missing ? .barrierMissing : .barrier)
                    }
                    if !filter.isEmpty, !filter.matches(rank: rank, node: heard ? slots[rank]?.node : nil, condition: condition) {
                        style = dim
                    }
                    if rank == selected { style = style.overlaid(by: selection) }
                    canvas.put(String(glyph), x: originX + col, y: y, style: style)
                }
            }
        }
        if firstRow > 0 { canvas.put(context.glyphs.arrowUp, x: originX + cols, y: originY, style: dim) }
        if firstRow + visibleRows < totalRows { canvas.put(context.glyphs.arrowDown, x: originX + cols, y: originY + visibleRows - 1, style: dim) }

        let sideX = originX + cols + 3
        if inner.maxX - sideX >= 16, let selected {
            drawSide(into: &canvas, rank: selected, rect: Rect(x: sideX, y: originY, width: inner.maxX - sideX, height: visibleRows), context: context)
        }
        return Geometry(origin: (originX, originY), columns: cols, visibleRows: visibleRows, firstRow: firstRow)
    }

    private static func drawLegend(into canvas: inout Canvas, x: Int, y: Int, width: Int, waits: GridWaits, context: RenderContext) {
        var line = waits.isEmpty ? StyledLine() : waits.legend(context: context)
        for condition in RankCondition.allCases {
            let n = context.digest.count(condition)
            if n == 0, condition == .stale || condition == .silent || condition == .stopped || condition == .unreachable { continue }
            if !line.spans.isEmpty { line.add("  ", context.style(.text)) }
            line.add(String(condition.gridGlyph(context.glyphs)), context.style(condition.role))
            line.add(" \(condition.label) \(n)", n > 0 ? context.style(.text) : context.style(.dim))
        }
        line.draw(into: &canvas, x: x, y: y, width: width, ellipsis: context.glyphs.ellipsis)
    }

    /// The selected rank, beside the grid.
    static func drawSide(into canvas: inout Canvas, rank: Int, rect: Rect, context: RenderContext) {
        let info = context.model.rank(rank)
        let condition = context.digest.condition(of: rank)
        let text = context.style(.text)
        let dim = context.style(.dim)
        var lines: [StyledLine] = []
        var head = StyledLine("rank \(rank)", context.style(.title))
        if let node = info?.node { head.add("  " + node, dim) }
        lines.append(head)
        lines.append(StyledLine(condition.label, context.style(condition.role)))
        let progress = RankText.progressText(info)
        if !progress.isEmpty {
            var line = StyledLine(progress, text)
            line.add("  \(RankText.rate(info)) it/s", dim)
            lines.append(line)
        }
        let whereText = RankText.whereText(info, condition: condition, context: context)
        if !whereText.spans.isEmpty { lines.append(whereText) }
        var facts = StyledLine()
        if let lag = context.digest.lag(of: rank) { facts.add("lag \(lag)  ", lag > 0 ? context.style(.warning) : dim) }
        facts.add("age " + RankText.age(info, now: context.now), condition == .stale ? context.style(.stale) : dim)
        lines.append(facts)
        lines.append(StyledLine("Enter: detail of this rank", dim))
        LineList.draw(lines, into: &canvas, rect: rect, scroll: 0, context: context)
    }
}
