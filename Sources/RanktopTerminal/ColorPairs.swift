import CNcursesShim
import RanktopUI

/// ncurses attributes and colour pairs for styles: each distinct (fg, bg) gets a pair the first
/// time it is drawn, with colours degraded to what the terminal offers.
struct ColorPairs {
    let depth: ColorDepth
    private let maxPairs: Int
    private var pairs: [PairKey: Int32] = [:]
    private var styles: [Style: (attrs: attr_t, pair: Int32)] = [:]

    private struct PairKey: Hashable {
        var fg: Int
        var bg: Int
    }

    init(depth: ColorDepth, maxPairs: Int) {
        self.depth = depth
        self.maxPairs = maxPairs
    }

    mutating func attributes(for style: Style) -> (attrs: attr_t, pair: Int32) {
        if let known = styles[style] { return known }
        let foreground = ColorDegrader.foreground(style.fg, depth: depth)
        let a = style.attributes.union(foreground.extra)
        let attrs = rt_attrs(
            a.contains(.bold) ? 1 : 0, a.contains(.dim) ? 1 : 0, a.contains(.underline) ? 1 : 0,
            a.contains(.reverse) ? 1 : 0, a.contains(.italic) ? 1 : 0
        )
        let result = (attrs, pair(fg: foreground.color, bg: ColorDegrader.terminalColor(style.bg, depth: depth)))
        styles[style] = result
        return result
    }

    private mutating func pair(fg: Int, bg: Int) -> Int32 {
        guard depth != .monochrome else { return 0 }
        let key = PairKey(fg: fg, bg: bg)
        if key.fg == -1, key.bg == -1 { return 0 }
        if let known = pairs[key] { return known }
        // Pair 0 is the terminal default; when pairs run out, reuse from the start (a theme has
        // a few dozen styles, so this only happens on terminals with very few pairs).
        let usable = max(1, maxPairs - 1)
        let number = Int32(pairs.count % usable + 1)
        if pairs.count >= usable { pairs = pairs.filter { $0.value != number } }
        _ = rt_init_pair(number, Int32(key.fg), Int32(key.bg))
        pairs[key] = number
        return number
    }
}
