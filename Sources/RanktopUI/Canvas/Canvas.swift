/// A grid of styled cells: what widgets draw into and what a backend puts on screen. Pure data,
/// so every screen can be compared and snapshotted as text in tests.
///
/// In ASCII mode (the locale is not UTF-8) every non-ASCII character written is replaced, so text
/// from ranks (node names, reasons, messages) cannot break the screen.
public struct Canvas: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let asciiOnly: Bool
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, asciiOnly: Bool = false, background: Style = .plain) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.asciiOnly = asciiOnly
        cells = Array(repeating: Cell(" ", background), count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        cells[y * width + x]
    }

    /// Writes `text` from (`x`, `y`) rightwards, at most up to column `limit` (exclusive; the
    /// canvas edge by default). Returns the column after the last one written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let end = min(limit ?? width, width)
        var col = x
        for scalar in text.unicodeScalars {
            if col >= end { break }
            let shown = displayable(scalar)
            let w = TextWidth.columns(shown)
            if w == 0 { continue }
            if col + w > end { break }
            if col >= 0 {
                set(col, y, Cell(shown, style))
                if w == 2 { set(col + 1, y, Cell(" ", style, isContinuation: true)) }
            }
            col += w
        }
        return col
    }

    /// Writes `text` into `width` columns, ending it with an ellipsis when it does not fit.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, width: Int, style: Style, ellipsis: String) -> Int {
        guard width > 0 else { return x }
        if TextWidth.columns(of: text) <= width {
            return put(text, x: x, y: y, style: style, limit: x + width)
        }
        let room = width - TextWidth.columns(of: ellipsis)
        let end = put(text, x: x, y: y, style: style, limit: x + max(0, room))
        return put(ellipsis, x: end, y: y, style: style, limit: x + width)
    }

    public mutating func put(_ scalar: Unicode.Scalar, x: Int, y: Int, style: Style) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        set(x, y, Cell(displayable(scalar), style))
    }

    public mutating func fill(_ rect: Rect, with scalar: Unicode.Scalar = " ", style: Style) {
        let shown = displayable(scalar)
        for y in max(0, rect.y)..<min(height, rect.maxY) {
            for x in max(0, rect.x)..<min(width, rect.maxX) {
                cells[y * width + x] = Cell(shown, style)
            }
        }
    }

    /// Lays `overlay` over the styles in `rect` (a selection bar), keeping the characters.
    public mutating func restyle(_ rect: Rect, overlay: Style) {
        for y in max(0, rect.y)..<min(height, rect.maxY) {
            for x in max(0, rect.x)..<min(width, rect.maxX) {
                cells[y * width + x].style = cells[y * width + x].style.overlaid(by: overlay)
            }
        }
    }

    /// Replaces the styles in `rect`, keeping the characters.
    public mutating func setStyle(_ rect: Rect, _ style: Style) {
        for y in max(0, rect.y)..<min(height, rect.maxY) {
            for x in max(0, rect.x)..<min(width, rect.maxX) {
                cells[y * width + x].style = style
            }
        }
    }

    private mutating func set(_ x: Int, _ y: Int, _ cell: Cell) {
        let i = y * width + x
        // Overwriting half of a wide character blanks its other half.
        if cells[i].isContinuation, x > 0 { cells[i - 1].scalar = " " }
        if !cell.isContinuation, x + 1 < width, cells[i + 1].isContinuation {
            cells[i + 1] = Cell(" ", cells[i + 1].style)
        }
        cells[i] = cell
    }

    private func displayable(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        let v = scalar.value
        if v == 0x09 { return " " }
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return "?" }
        if asciiOnly && v >= 0x80 { return "?" }
        return scalar
    }
}
