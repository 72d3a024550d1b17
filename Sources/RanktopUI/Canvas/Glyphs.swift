/// The characters the dashboard draws with: box drawing, bars and sparklines in UTF-8, plain
/// ASCII stand-ins when the locale cannot show them.
public struct Glyphs: Sendable, Equatable {
    public var horizontal: Unicode.Scalar
    public var vertical: Unicode.Scalar
    public var topLeft: Unicode.Scalar
    public var topRight: Unicode.Scalar
    public var bottomLeft: Unicode.Scalar
    public var bottomRight: Unicode.Scalar
    public var barFill: Unicode.Scalar
    public var barTrack: Unicode.Scalar
    /// Sparkline levels, lowest first.
    public var spark: [Unicode.Scalar]
    public var ellipsis: String
    public var separator: String
    public var warning: String
    public var arrowUp: String
    public var arrowDown: String
    /// One cell per rank in the compact grid, by what the rank is doing. Every state has a mark,
    /// silent ranks too: a blank cell hides exactly the ranks most worth a look.
    public var gridRunning: Unicode.Scalar
    public var gridWaiting: Unicode.Scalar
    public var gridExited: Unicode.Scalar
    public var gridStopped: Unicode.Scalar
    public var gridFailed: Unicode.Scalar
    public var gridLost: Unicode.Scalar
    public var gridSilent: Unicode.Scalar
    public var gridStale: Unicode.Scalar

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        barFill: "█", barTrack: "░", spark: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
        ellipsis: "…", separator: " · ", warning: "⚠", arrowUp: "▲", arrowDown: "▼",
        gridRunning: "■", gridWaiting: "□", gridExited: "·", gridStopped: "▫", gridFailed: "✗", gridLost: "?", gridSilent: "○",
        gridStale: "◆"
    )

    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        barFill: "#", barTrack: ".", spark: ["_", ".", "-", "~", "=", "+", "*", "#"],
        ellipsis: "~", separator: " | ", warning: "!", arrowUp: "^", arrowDown: "v",
        gridRunning: "#", gridWaiting: "w", gridExited: ".", gridStopped: "=", gridFailed: "X", gridLost: "?", gridSilent: "o",
        gridStale: "s"
    )
}
