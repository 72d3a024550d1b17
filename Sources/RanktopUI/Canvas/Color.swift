/// A colour as a theme names it. The terminal backend degrades it to what the terminal can show
/// (see `ColorDegrader`).
public enum Color: Hashable, Sendable {
    /// The terminal's own foreground or background.
    case terminalDefault
    /// A palette index: 0-15 are the terminal's ANSI colours, 16-255 the xterm cube and greys.
    case indexed(UInt8)
    case rgb(UInt8, UInt8, UInt8)
}

/// Text attributes a cell can carry; every terminal ncurses knows supports these.
public struct TextAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = TextAttributes(rawValue: 1 << 0)
    public static let dim = TextAttributes(rawValue: 1 << 1)
    public static let underline = TextAttributes(rawValue: 1 << 2)
    public static let reverse = TextAttributes(rawValue: 1 << 3)
    public static let italic = TextAttributes(rawValue: 1 << 4)

    public static let names: [(String, TextAttributes)] = [
        ("bold", .bold), ("dim", .dim), ("underline", .underline), ("reverse", .reverse), ("italic", .italic),
    ]
}

/// How one cell looks.
public struct Style: Hashable, Sendable {
    public var fg: Color
    public var bg: Color
    public var attributes: TextAttributes

    public init(fg: Color = .terminalDefault, bg: Color = .terminalDefault, _ attributes: TextAttributes = []) {
        self.fg = fg
        self.bg = bg
        self.attributes = attributes
    }

    public static let plain = Style()

    /// `self` with `overlay` on top: its colours where it sets them, its attributes added.
    public func overlaid(by overlay: Style) -> Style {
        Style(
            fg: overlay.fg == .terminalDefault ? fg : overlay.fg,
            bg: overlay.bg == .terminalDefault ? bg : overlay.bg,
            attributes.union(overlay.attributes)
        )
    }
}
