/// Colour spellings theme files may use.
enum ColorNames {
    static let ansi = [
        "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
        "bright-black", "bright-red", "bright-green", "bright-yellow", "bright-blue", "bright-magenta", "bright-cyan", "bright-white",
    ]
    static let all = ["default"] + ansi

    /// `"default"`, an ANSI name, `"#rrggbb"` or `"#rgb"`.
    static func parse(_ text: String) -> Color? {
        let lowered = text.lowercased()
        if lowered == "default" { return .terminalDefault }
        if let index = ansi.firstIndex(of: lowered) { return .indexed(UInt8(index)) }
        if lowered == "gray" || lowered == "grey" { return .indexed(8) }
        guard lowered.hasPrefix("#") else { return nil }
        let digits = Array(lowered.dropFirst())
        let values = digits.compactMap { $0.hexDigitValue }
        guard values.count == digits.count else { return nil }
        switch values.count {
        case 6:
            return .rgb(UInt8(values[0] * 16 + values[1]), UInt8(values[2] * 16 + values[3]), UInt8(values[4] * 16 + values[5]))
        case 3:
            return .rgb(UInt8(values[0] * 17), UInt8(values[1] * 17), UInt8(values[2] * 17))
        default:
            return nil
        }
    }
}
