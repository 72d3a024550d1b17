/// What a terminal can show.
public enum ColorDepth: Int, Sendable, Comparable, CaseIterable {
    case monochrome = 0
    case ansi8 = 8
    case ansi16 = 16
    case palette256 = 256
    /// 24-bit colour, where the terminfo entry supports direct colour (e.g. `xterm-direct`).
    case direct = 16_777_216

    public static func < (a: ColorDepth, b: ColorDepth) -> Bool { a.rawValue < b.rawValue }

    /// The depth for an ncurses `COLORS` value.
    public init(colors: Int) {
        if colors >= 16_777_216 {
            self = .direct
        } else if colors >= 256 {
            self = .palette256
        } else if colors >= 16 {
            self = .ansi16
        } else if colors >= 8 {
            self = .ansi8
        } else {
            self = .monochrome
        }
    }
}

/// Maps theme colours to what a terminal offers by nearest match: truecolor as is, else the
/// nearest of the 240 fixed xterm colours (16-255), else the nearest ANSI colour. ANSI indices
/// 0-15 stay the terminal's own palette, so a theme that uses them follows the user's scheme.
public enum ColorDegrader {
    /// The terminal colour number: -1 for the terminal default, a palette index, or for direct
    /// colour the packed 0xRRGGBB value.
    public static func terminalColor(_ color: Color, depth: ColorDepth) -> Int {
        switch (color, depth) {
        case (_, .monochrome), (.terminalDefault, _):
            return -1
        case let (.rgb(r, g, b), .direct):
            return Int(r) << 16 | Int(g) << 8 | Int(b)
        case let (.indexed(i), .direct):
            // A direct-colour terminal has no palette: indices become the xterm RGB values.
            let (r, g, b) = rgb(ofIndex: Int(i))
            return r << 16 | g << 8 | b
        case let (.rgb(r, g, b), .palette256):
            return nearest(Int(r), Int(g), Int(b), among: 16...255)
        case let (.indexed(i), .palette256):
            return Int(i)
        case let (.rgb(r, g, b), .ansi16):
            return nearestANSI(Int(r), Int(g), Int(b), among: 0...15)
        case let (.indexed(i), .ansi16):
            if i < 16 { return Int(i) }
            let (r, g, b) = rgb(ofIndex: Int(i))
            return nearestANSI(r, g, b, among: 0...15)
        case let (.rgb(r, g, b), .ansi8):
            return nearestANSI(Int(r), Int(g), Int(b), among: 0...7)
        case let (.indexed(i), .ansi8):
            if i < 8 { return Int(i) }
            if i < 16 { return Int(i) - 8 }
            let (r, g, b) = rgb(ofIndex: Int(i))
            return nearestANSI(r, g, b, among: 0...7)
        }
    }

    /// A foreground colour and the attributes it needs to read as meant. Eight colours have no
    /// grey: a mid or dark grey becomes dim white (black would vanish on a dark terminal).
    public static func foreground(_ color: Color, depth: ColorDepth) -> (color: Int, extra: TextAttributes) {
        let mapped = terminalColor(color, depth: depth)
        guard depth == .ansi8, let (r, g, b) = components(color), isGrey(r, g, b) else { return (mapped, []) }
        let level = (r + g + b) / 3
        if level >= 160 { return (7, []) }
        if level >= 48 { return (7, .dim) }
        return (0, [])
    }

    private static func components(_ color: Color) -> (Int, Int, Int)? {
        switch color {
        case .terminalDefault: nil
        case let .indexed(i): rgb(ofIndex: Int(i))
        case let .rgb(r, g, b): (Int(r), Int(g), Int(b))
        }
    }

    static func isGrey(_ r: Int, _ g: Int, _ b: Int) -> Bool {
        max(r, g, b) - min(r, g, b) < 24
    }

    /// Nearest among ANSI colours; a grey only among the greys, so it does not drift to a hue
    /// (a mid grey is nearer cyan than white by distance alone).
    static func nearestANSI(_ r: Int, _ g: Int, _ b: Int, among indices: ClosedRange<Int>) -> Int {
        guard isGrey(r, g, b) else { return nearest(r, g, b, among: indices) }
        let greys = [0, 7, 8, 15].filter(indices.contains)
        return greys.min { distance(r, g, b, $0) < distance(r, g, b, $1) }!
    }

    /// The xterm default RGB of a palette index.
    public static func rgb(ofIndex index: Int) -> (Int, Int, Int) {
        switch index {
        case 0..<16:
            return ansiRGB[index]
        case 16..<232:
            let steps = [0, 95, 135, 175, 215, 255]
            let n = index - 16
            return (steps[n / 36], steps[(n / 6) % 6], steps[n % 6])
        default:
            let level = 8 + 10 * (index - 232)
            return (level, level, level)
        }
    }

    /// xterm's default ANSI palette.
    static let ansiRGB: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]

    /// Nearest by the "redmean" weighted distance, a cheap approximation of perceived difference.
    static func nearest(_ r: Int, _ g: Int, _ b: Int, among indices: ClosedRange<Int>) -> Int {
        var best = indices.lowerBound
        var bestDistance = Int.max
        for i in indices {
            let d = distance(r, g, b, i)
            if d < bestDistance {
                bestDistance = d
                best = i
            }
        }
        return best
    }

    private static func distance(_ r: Int, _ g: Int, _ b: Int, _ index: Int) -> Int {
        let (pr, pg, pb) = rgb(ofIndex: index)
        let rmean = (r + pr) / 2
        let dr = r - pr, dg = g - pg, db = b - pb
        return (((512 + rmean) * dr * dr) >> 8) + 4 * dg * dg + (((767 - rmean) * db * db) >> 8)
    }
}
