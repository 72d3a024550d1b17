/// Maps each semantic element to a style. The default theme is compiled in; theme files override
/// the roles they name (see `ThemeParser`).
public struct Theme: Sendable, Equatable {
    public var name: String
    public private(set) var styles: [ThemeRole: Style]

    public init(name: String, styles: [ThemeRole: Style]) {
        self.name = name
        self.styles = styles
    }

    /// The style of `role` as drawn: colours it leaves at the terminal default take the `text`
    /// element's, so a theme that paints a background paints it everywhere.
    public subscript(role: ThemeRole) -> Style {
        get {
            let base = styles[.text] ?? .plain
            var style = styles[role] ?? base
            if style.fg == .terminalDefault { style.fg = base.fg }
            if style.bg == .terminalDefault { style.bg = base.bg }
            return style
        }
        set { styles[role] = newValue }
    }

    /// The style of `role` exactly as the theme gives it, for overlays (a selection bar keeps
    /// the colours it does not set).
    public func raw(_ role: ThemeRole) -> Style { styles[role] ?? .plain }

    /// Whether any role uses a colour (a monochrome theme uses attributes only).
    public var usesColor: Bool {
        styles.values.contains { $0.fg != .terminalDefault || $0.bg != .terminalDefault }
    }
}
