/// What the dashboard's app loop needs of a display: the ncurses terminal in `RanktopTerminal`,
/// or `TestScreen` in tests. Used from one thread.
public protocol Screen: AnyObject {
    /// The size in cells, read before each frame (it follows a resize).
    var size: Size { get }
    var capabilities: ScreenCapabilities { get }
    /// Puts a whole frame on screen.
    func draw(_ canvas: Canvas)
    /// The next `draw` repaints every cell: after a resize the content on screen is unknown.
    func invalidate()
    /// The inputs waiting, after waiting at most `timeout` seconds for one. A backend may return
    /// early and empty-handed when something else needs the loop (an event posted to its inbox).
    func readInputs(timeout: Double) -> [InputEvent]
}

/// What a screen can show: the app picks glyphs and theme to fit.
public struct ScreenCapabilities: Sendable, Equatable {
    public var utf8: Bool
    public var depth: ColorDepth

    public init(utf8: Bool, depth: ColorDepth) {
        self.utf8 = utf8
        self.depth = depth
    }
}
