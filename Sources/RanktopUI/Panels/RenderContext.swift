import RanktopModel

/// Everything a panel draws from: the model, what the frame derived from it, the clock and the
/// options (theme, glyphs).
struct RenderContext {
    let model: RunModel
    let digest: RunSnapshot
    let now: Double
    let options: DashboardOptions
    /// The style of each rank condition, looked up once per frame (the grid needs one per rank).
    let conditionStyles: [Style]
    /// Straggler scores and the health line, computed at most once per frame (the header, the
    /// SLOW column and its sort read them) and only when read: a stalled run's header and the
    /// grid need no scores, and at 4096 ranks they cost a fifth of the frame.
    private let memo = FrameMemo()

    final class FrameMemo {
        var scores: [StragglerScore]?
        var health: RunHealth?
    }

    var scores: [StragglerScore] {
        if let scores = memo.scores { return scores }
        let scores = digest.scores
        memo.scores = scores
        return scores
    }

    var health: RunHealth {
        if let health = memo.health { return health }
        let health = digest.health { self.scores }
        memo.health = health
        return health
    }

    init(model: RunModel, digest: RunSnapshot, now: Double, options: DashboardOptions) {
        self.model = model
        self.digest = digest
        self.now = now
        self.options = options
        conditionStyles = RankCondition.allCases.map { options.theme[$0.role] }
    }

    func style(of condition: RankCondition) -> Style { conditionStyles[condition.rawValue] }

    var theme: Theme { options.theme }
    var glyphs: Glyphs { options.glyphs }

    func style(_ role: ThemeRole) -> Style { options.theme[role] }
}

/// A line of text made of differently styled pieces.
struct StyledLine {
    /// `path`: a file path, which a cut shortens from the left at a directory before the line is
    /// cut at its end, so that the file name (the part that tells it apart) stays.
    var spans: [(text: String, style: Style, path: Bool)] = []

    init() {}

    init(_ text: String, _ style: Style) {
        spans = [(text, style, false)]
    }

    mutating func add(_ text: String, _ style: Style) {
        spans.append((text, style, false))
    }

    /// Adds a file path: see `spans`.
    mutating func addPath(_ path: String, _ style: Style) {
        spans.append((path, style, true))
    }

    var width: Int { spans.reduce(0) { $0 + TextWidth.columns(of: $1.text) } }

    /// The line with its paths shortened (last first) until it fits `width`, where they can be.
    func shortened(toFit width: Int, ellipsis: String) -> StyledLine {
        var over = self.width - width
        guard over > 0, spans.contains(where: \.path) else { return self }
        var line = self
        for i in line.spans.indices.reversed() where line.spans[i].path && over > 0 {
            let current = TextWidth.columns(of: line.spans[i].text)
            let tail = Format.pathTail(line.spans[i].text, width: max(0, current - over), ellipsis: ellipsis)
            over -= current - TextWidth.columns(of: tail)
            line.spans[i].text = tail
        }
        return line
    }

    /// Draws the line in `width` columns from (`x`, `y`), ending with an ellipsis when cut.
    func draw(into canvas: inout Canvas, x: Int, y: Int, width: Int, ellipsis: String) {
        let spans = shortened(toFit: width, ellipsis: ellipsis).spans
        let end = x + width
        var col = x
        let cut = spans.reduce(0, { $0 + TextWidth.columns(of: $1.text) }) > width
        let room = cut ? end - TextWidth.columns(of: ellipsis) : end
        var lastStyle = spans.first?.style ?? .plain
        for span in spans {
            if col >= room { break }
            col = canvas.put(span.text, x: col, y: y, style: span.style, limit: room)
            lastStyle = span.style
        }
        if cut { canvas.put(ellipsis, x: col, y: y, style: lastStyle, limit: end) }
    }
}

/// Panel frames: a box with its title in the top border.
enum PanelFrame {
    /// Draws the frame and returns the inside.
    @discardableResult
    static func draw(into canvas: inout Canvas, rect: Rect, title: StyledLine, focused: Bool, context: RenderContext) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        let g = context.glyphs
        let border = context.style(focused ? .borderFocused : .border)
        canvas.fill(rect.inset(by: 1), style: context.style(.text))
        drawBorder(into: &canvas, rect: rect, style: border, glyphs: g)
        var titled = StyledLine(" ", border)
        titled.spans += title.spans
        titled.add(" ", border)
        titled.draw(into: &canvas, x: rect.x + 1, y: rect.y, width: max(0, rect.width - 3), ellipsis: g.ellipsis)
        return rect.inset(by: 1)
    }

    /// The box lines around `rect`, on its outermost cells.
    static func drawBorder(into canvas: inout Canvas, rect: Rect, style: Style, glyphs g: Glyphs) {
        for x in rect.x..<rect.maxX {
            canvas.put(g.horizontal, x: x, y: rect.y, style: style)
            canvas.put(g.horizontal, x: x, y: rect.maxY - 1, style: style)
        }
        for y in rect.y..<rect.maxY {
            canvas.put(g.vertical, x: rect.x, y: y, style: style)
            canvas.put(g.vertical, x: rect.maxX - 1, y: y, style: style)
        }
        canvas.put(g.topLeft, x: rect.x, y: rect.y, style: style)
        canvas.put(g.topRight, x: rect.maxX - 1, y: rect.y, style: style)
        canvas.put(g.bottomLeft, x: rect.x, y: rect.maxY - 1, style: style)
        canvas.put(g.bottomRight, x: rect.maxX - 1, y: rect.maxY - 1, style: style)
    }

    static func title(_ panel: PanelID, focused: Bool, context: RenderContext) -> StyledLine {
        StyledLine(panel.title, context.style(focused ? .titleFocused : .title))
    }
}

/// Panels whose content is a list of lines that scrolls.
enum LineList {
    /// Draws `lines` from `scroll` (clamped) into `rect`; returns the scroll used.
    @discardableResult
    static func draw(_ lines: [StyledLine], into canvas: inout Canvas, rect: Rect, scroll: Int, context: RenderContext) -> Int {
        let top = max(0, min(scroll, lines.count - rect.height))
        for (row, line) in lines.dropFirst(top).prefix(rect.height).enumerated() {
            line.draw(into: &canvas, x: rect.x, y: rect.y + row, width: rect.width, ellipsis: context.glyphs.ellipsis)
        }
        if lines.count > rect.height, rect.height > 0 {
            let dim = context.style(.dim)
            if top > 0 { canvas.put(context.glyphs.arrowUp, x: rect.maxX - 1, y: rect.y, style: dim) }
            if top + rect.height < lines.count {
                canvas.put(context.glyphs.arrowDown, x: rect.maxX - 1, y: rect.maxY - 1, style: dim)
            }
        }
        return top
    }
}
