import RanktopModel

/// What is wrong with a theme file, and where: printed as `file:line: problem`.
public struct ThemeProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var problem: String

    public var description: String {
        line.map { "\(file):\($0): \(problem)" } ?? "\(file): \(problem)"
    }
}

/// Reads a theme file: `name`, then `[styles]` mapping element keys (`state.running`, ...) to
/// inline tables `{ fg = "#rrggbb", bg = 236, bold = true }`. Elements a file leaves out keep
/// the base theme's style. Strict: an unknown element, field or colour is a problem, because a
/// typo silently ignored is a theme that looks wrong for no visible reason.
public enum ThemeParser {
    static let styleFields = ["fg", "bg"] + TextAttributes.names.map(\.0)

    public static func parse(_ text: String, file: String, base: Theme) throws(ThemeProblem) -> Theme {
        let table: TOMLDocument.Table
        do {
            table = try TOMLDocument(parsing: text).root
        } catch {
            throw ThemeProblem(file: file, line: error.line, problem: "not valid TOML: \(error.message)")
        }
        let lines = SourceLines(text)
        var theme = base
        for key in table.keys.sorted() {
            switch key {
            case "name":
                guard let name = table[key]?.string, !name.isEmpty else {
                    throw ThemeProblem(file: file, line: lines.line(of: ["name"]), problem: "'name' must be a non-empty string")
                }
                theme.name = name
            case "description":
                guard table[key]?.string != nil else {
                    throw ThemeProblem(file: file, line: lines.line(of: ["description"]), problem: "'description' must be a string")
                }
            case "styles":
                guard let styles = table[key]?.table else {
                    throw ThemeProblem(file: file, line: lines.line(of: ["styles"]), problem: "'styles' must be a table of element = { fg = ..., bg = ..., bold = ... }")
                }
                try readStyles(styles, path: [], into: &theme, file: file, lines: lines)
            default:
                throw ThemeProblem(file: file, line: lines.line(of: [key]), problem: "unknown key '\(key)' (a theme has 'name', 'description' and a [styles] table)")
            }
        }
        return theme
    }

    /// Walks `[styles]`. An element is a table of style fields; a table can also hold nested
    /// elements, so `[styles.barrier]` may set `fg = ...` for `barrier` and `missing = {...}`
    /// for `barrier.missing`, and `"state.running" = {...}` names the same element as
    /// `[styles.state]` with `running = {...}`.
    private static func readStyles(_ table: TOMLDocument.Table, path: [String], into theme: inout Theme, file: String, lines: SourceLines) throws(ThemeProblem) {
        for key in table.keys.sorted() {
            let elementPath = path + [key]
            let element = elementPath.joined(separator: ".")
            let line = lines.line(of: ["styles"] + elementPath)
            guard let value = table[key]?.table else {
                if path.isEmpty || !isStyleField(key) {
                    throw ThemeProblem(file: file, line: line, problem: "'\(element)' must be a table such as { fg = \"#5fd75f\", bold = true }")
                }
                continue
            }
            let role = ThemeRole(rawValue: element)
            let isGroup = ThemeRole.allCases.contains { $0.rawValue.hasPrefix(element + ".") }
            guard role != nil || isGroup else {
                throw ThemeProblem(file: file, line: line, problem: "unknown element '\(element)'; known elements: \(ThemeRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let fields = value.keys.filter { isStyleField($0) || value[$0]?.table == nil }
            if let role {
                theme[role] = try style(from: value, fields: fields, element: element, file: file, line: line)
            } else if let field = fields.first {
                throw ThemeProblem(file: file, line: line, problem: "'\(element)' is a group of elements, not an element: '\(field)' has no element to style")
            }
            let nested = value.keys.filter { !isStyleField($0) && value[$0]?.table != nil }
            if !nested.isEmpty {
                var children = TOMLDocument.Table()
                for name in nested { children[name] = value[name] }
                try readStyles(children, path: elementPath, into: &theme, file: file, lines: lines)
            }
        }
    }

    private static func isStyleField(_ key: String) -> Bool { styleFields.contains(key) }

    private static func style(from table: TOMLDocument.Table, fields: [String], element: String, file: String, line: Int?) throws(ThemeProblem) -> Style {
        var style = Style()
        for field in fields.sorted() {
            guard let value = table[field] else { continue }
            switch field {
            case "fg", "bg":
                let color: Color
                if let name = value.string {
                    guard let parsed = ColorNames.parse(name) else {
                        throw ThemeProblem(file: file, line: line, problem: "'\(element).\(field)': '\(name)' is not a colour (use \"#rrggbb\", 0-255, \"default\" or a name: \(ColorNames.all.joined(separator: ", ")))")
                    }
                    color = parsed
                } else if let index = value.int {
                    guard (0...255).contains(index) else {
                        throw ThemeProblem(file: file, line: line, problem: "'\(element).\(field)': palette index \(index) is outside 0-255")
                    }
                    color = .indexed(UInt8(index))
                } else {
                    throw ThemeProblem(file: file, line: line, problem: "'\(element).\(field)' must be a colour string or a palette index 0-255")
                }
                if field == "fg" { style.fg = color } else { style.bg = color }
            default:
                guard let attribute = TextAttributes.names.first(where: { $0.0 == field })?.1 else {
                    throw ThemeProblem(file: file, line: line, problem: "'\(element)': unknown field '\(field)' (fields: \(styleFields.joined(separator: ", ")))")
                }
                guard let on = value.bool else {
                    throw ThemeProblem(file: file, line: line, problem: "'\(element).\(field)' must be true or false")
                }
                if on { style.attributes.insert(attribute) } else { style.attributes.remove(attribute) }
            }
        }
        return style
    }
}

/// Finds the line that defines a key, for messages: the parser reports positions for syntax
/// errors only, so semantic problems are located by reading the source's keys and table headers.
struct SourceLines {
    private var definitions: [(path: [String], line: Int)] = []

    init(_ text: String) {
        var section: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                let inner = line.drop { $0 == "[" }.prefix { $0 != "]" }
                section = SourceLines.keyPath(inner)
                definitions.append((section, i + 1))
            } else if let equals = line.firstIndex(of: "=") {
                definitions.append((section + SourceLines.keyPath(line[..<equals]), i + 1))
            }
        }
    }

    /// The line defining `path`, or the closest enclosing definition.
    func line(of path: [String]) -> Int? {
        var prefix = path.flatMap { $0.split(separator: ".").map(String.init) }
        while !prefix.isEmpty {
            if let hit = definitions.first(where: { $0.path == prefix }) { return hit.line }
            prefix.removeLast()
        }
        return nil
    }

    /// `styles."state.running"` -> ["styles", "state", "running"]: quoted or dotted, a key names
    /// the same element.
    private static func keyPath(_ text: Substring) -> [String] {
        text.split(separator: ".").flatMap { part -> [String] in
            let trimmed = part.trimmingWhitespace().filter { $0 != "\"" && $0 != "'" }
            return trimmed.isEmpty ? [] : [String(trimmed)]
        }
    }
}
