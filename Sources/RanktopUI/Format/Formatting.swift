import RanktopModel

/// Padding to terminal columns, which only the UI knows how to count (wide and combining
/// characters): the one formatter, `Format`, extended here.
extension Format {
    /// `text` padded with spaces on the left to `width` columns.
    public static func right(_ text: String, _ width: Int) -> String {
        let n = TextWidth.columns(of: text)
        return n >= width ? text : String(repeating: " ", count: width - n) + text
    }

    /// `text` padded with spaces on the right to `width` columns.
    public static func left(_ text: String, _ width: Int) -> String {
        let n = TextWidth.columns(of: text)
        return n >= width ? text : text + String(repeating: " ", count: width - n)
    }
}
