import RanktopModel

/// A chart of a band (min to max, with the median drawn over it) and optionally one more line (the
/// selected rank), in braille cells: each cell is 2 dots wide and 4 high, so a 60x8 chart has
/// 120x32 dots. Without Unicode it degrades to ASCII: `:` for the band, `-` for the median, `*`
/// for the line. The y axis is labelled with its top and bottom values, the x axis with what its
/// first and last columns are (steps, barriers).
enum Chart {
    struct Column: Equatable {
        var min: Double
        var median: Double
        var max: Double
    }

    /// Draws `columns` (oldest first) and `line` (values aligned to the last columns) into
    /// `rect`, with the axis labels inside it. `format` writes a value at the right resolution.
    static func draw(
        into canvas: inout Canvas, rect: Rect, band: [Column], line: [Double] = [], xLabels: (first: String, last: String)?,
        format: (Double) -> String, context: RenderContext
    ) {
        guard rect.height >= 3, rect.width >= 16 else { return }
        let values = band.flatMap { [$0.min, $0.max] } + line
        let dim = context.style(.dim)
        guard let low = values.min(), let high = values.max(), low.isFinite, high.isFinite else {
            canvas.put("nothing to chart yet", x: rect.x, y: rect.y, style: dim, limit: rect.maxX)
            return
        }
        // Room for the labels: the y axis at the left, the steps on the last row.
        let top = high > low ? high : high + max(abs(high) * 0.05, 1e-9)
        let bottom = high > low ? low : low - max(abs(low) * 0.05, 1e-9)
        let labels = [format(top), format(bottom)]
        let labelWidth = min(10, (labels.map(\.count).max() ?? 0) + 1)
        let plot = Rect(x: rect.x + labelWidth, y: rect.y, width: rect.width - labelWidth, height: rect.height - 1)
        canvas.put(labels[0], x: rect.x, y: plot.y, style: dim, limit: plot.x)
        canvas.put(labels[1], x: rect.x, y: plot.maxY - 1, style: dim, limit: plot.x)
        if let xLabels {
            canvas.put(xLabels.first, x: plot.x, y: plot.maxY, style: dim, limit: plot.maxX)
            canvas.put(xLabels.last, x: max(plot.x, plot.maxX - xLabels.last.count), y: plot.maxY, style: dim, limit: plot.maxX)
        }
        let ascii = context.glyphs == .ascii
        let dotsWide = plot.width * (ascii ? 1 : 2)
        let dotsHigh = plot.height * (ascii ? 1 : 4)
        let (columns, lineColumns) = fit(band, line: line, to: dotsWide)
        // A dot row for a value: 0 at the top.
        func row(_ value: Double) -> Int {
            let fraction = (top - value) / (top - bottom)
            return min(dotsHigh - 1, max(0, Int((fraction * Double(dotsHigh - 1)).rounded())))
        }
        var grid = DotGrid(width: plot.width, height: plot.height, ascii: ascii)
        for (x, column) in columns.enumerated() {
            for y in row(column.max)...row(column.min) { grid.set(x: x, y: y, mark: .band) }
            grid.set(x: x, y: row(column.median), mark: .median)
        }
        for (x, value) in lineColumns.enumerated() {
            if let value, value.isFinite { grid.set(x: x, y: row(value), mark: .line) }
        }
        grid.draw(into: &canvas, at: plot, styles: [.band: context.style(.dim), .median: context.style(.sparkline), .line: context.style(.warning)])
    }

    /// One band column and one line value (or none) per dot column: the band stretched over the
    /// width (each point as wide as its share) or squeezed into it (`resample`); the line's
    /// values belong to the band's last points.
    static func fit(_ band: [Column], line: [Double], to width: Int) -> (band: [Column], line: [Double?]) {
        guard !band.isEmpty, width > 0 else { return ([], []) }
        let firstLinePoint = band.count - line.count
        if band.count <= width {
            let columns = (0..<width).map { band[$0 * band.count / width] }
            let values: [Double?] = (0..<width).map { x in
                let index = x * band.count / width - firstLinePoint
                return index >= 0 && index < line.count ? line[index] : nil
            }
            return (columns, values)
        }
        let columns = resample(band, to: width)
        let values: [Double?] = (0..<width).map { x in
            // The points this column covers; the line's mean over those it has.
            let from = x * band.count / width - firstLinePoint, to = max(from + 1, (x + 1) * band.count / width - firstLinePoint)
            let covered = line[max(0, min(line.count, from))..<max(0, min(line.count, to))]
            return covered.isEmpty ? nil : covered.reduce(0, +) / Double(covered.count)
        }
        return (columns, values)
    }

    /// `band` squeezed: each output column the extremes of the points it covers (its median the
    /// mean of theirs); kept as it is when it fits.
    static func resample(_ band: [Column], to width: Int) -> [Column] {
        guard band.count > width, width > 0 else { return band }
        return (0..<width).map { i in
            let from = i * band.count / width, to = max(from + 1, (i + 1) * band.count / width)
            let slice = band[from..<to]
            let medians = slice.map(\.median)
            return Column(min: slice.map(\.min).min()!, median: medians.reduce(0, +) / Double(medians.count), max: slice.map(\.max).max()!)
        }
    }

}

/// Dots in braille cells (or one mark per cell in ASCII), each cell styled by its strongest mark.
struct DotGrid {
    enum Mark: Int, Comparable {
        case band = 1, median, line
        static func < (a: Mark, b: Mark) -> Bool { a.rawValue < b.rawValue }
    }

    let width: Int
    let height: Int
    let ascii: Bool
    private var bits: [UInt8]
    private var marks: [Mark?]

    init(width: Int, height: Int, ascii: Bool) {
        self.width = width
        self.height = height
        self.ascii = ascii
        bits = [UInt8](repeating: 0, count: width * height)
        marks = [Mark?](repeating: nil, count: width * height)
    }

    /// Braille dot bits by (column, row) within a cell.
    private static let dot: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]

    mutating func set(x: Int, y: Int, mark: Mark) {
        let (cellX, cellY) = ascii ? (x, y) : (x / 2, y / 4)
        guard cellX >= 0, cellX < width, cellY >= 0, cellY < height else { return }
        let i = cellY * width + cellX
        if !ascii { bits[i] |= DotGrid.dot[x % 2][y % 4] }
        if marks[i].map({ $0 < mark }) ?? true { marks[i] = mark }
    }

    func draw(into canvas: inout Canvas, at rect: Rect, styles: [Mark: Style]) {
        for cellY in 0..<height {
            for cellX in 0..<width {
                let i = cellY * width + cellX
                guard let mark = marks[i], let style = styles[mark] else { continue }
                let scalar: Unicode.Scalar
                if ascii {
                    scalar = mark == .line ? "*" : mark == .median ? "-" : ":"
                } else {
                    scalar = Unicode.Scalar(0x2800 + UInt32(bits[i]))!
                }
                canvas.put(scalar, x: rect.x + cellX, y: rect.y + cellY, style: style)
            }
        }
    }
}
