/// The themes compiled into the binary: the default, and monochrome for `NO_COLOR`.
public enum BuiltinThemes {
    /// Every role plain: the base a theme file's styles are laid over before the default exists.
    static let empty = Theme(name: "empty", styles: Dictionary(uniqueKeysWithValues: ThemeRole.allCases.map { ($0, Style.plain) }))

    public static let defaultTheme: Theme = compiled(defaultSource, file: "<built-in default theme>")
    public static let monochrome: Theme = compiled(monochromeSource, file: "<built-in monochrome theme>")

    private static func compiled(_ source: String, file: String) -> Theme {
        do {
            return try ThemeParser.parse(source, file: file, base: empty)
        } catch {
            // The sources are checked by the test suite; a broken one is a build defect.
            preconditionFailure("built-in theme does not parse: \(error)")
        }
    }
}
