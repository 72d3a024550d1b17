/// A row of bar glyphs, one per value, scaled between the smallest and the largest value shown,
/// with the range at least half the largest, so jitter of a few percent stays a ripple near the
/// top rather than filling the scale. Equal values sit in the middle.
enum Sparkline {
    static func text(_ values: [Double], width: Int, glyphs: Glyphs) -> String {
        let shown = values.suffix(max(0, width))
        let levels = glyphs.spark.count
        guard let top = shown.max(), let smallest = shown.min(), top > smallest else {
            return String(String.UnicodeScalarView(repeatElement(glyphs.spark[levels / 2], count: shown.count)))
        }
        let bottom = min(smallest, top / 2)
        var out = String.UnicodeScalarView()
        for value in shown {
            let scaled = ((value - bottom) / (top - bottom) * Double(levels - 1)).rounded()
            // Infinite or NaN samples (a hostile log) sit at the bottom rather than trap `Int(_:)`.
            let level = scaled.isFinite ? Int(min(max(scaled, 0), Double(levels - 1))) : 0
            out.append(glyphs.spark[min(levels - 1, max(0, level))])
        }
        return String(out)
    }
}
