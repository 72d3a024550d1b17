#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials

/// The theme the dashboard starts with, and what went wrong choosing it (shown to the user; the
/// dashboard then runs with the default theme).
public struct ThemeChoice: Sendable {
    public var theme: Theme
    public var warning: String?
}

/// Finds themes: `--theme` (or `RANKTOP_THEME`) as a path, then by name in
/// `~/.config/ranktop/themes`, then in the installed `Themes/`. The default and monochrome
/// themes are compiled in, so both work with no files at all.
public struct ThemeLoader: Sendable {
    /// `$XDG_CONFIG_HOME/ranktop/themes`, else `~/.config/ranktop/themes`.
    public var userDirectory: String?
    /// Where ranktop's own `Themes/` were installed or built from.
    public var installedDirectories: [String]

    public init(userDirectory: String?, installedDirectories: [String]) {
        self.userDirectory = userDirectory
        self.installedDirectories = installedDirectories
    }

    /// The standard places, for the running executable.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> ThemeLoader {
        var user: String?
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") {
            user = config + "/ranktop/themes"
        } else if let home = environment["HOME"], !home.isEmpty {
            user = home + "/.config/ranktop/themes"
        }
        return ThemeLoader(userDirectory: user, installedDirectories: installedThemeDirectories())
    }

    /// `share/ranktop/themes` beside an installed binary, or the `Themes/` of the source tree a
    /// development build lives in (`.build/<triple>/debug/ranktop`).
    static func installedThemeDirectories() -> [String] {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let executable = FileManager.default.fileExists(atPath: exe) ? exe : (CommandLine.arguments.first ?? "")
        var dir = URL(fileURLWithPath: executable).deletingLastPathComponent()
        var found: [String] = []
        let share = dir.deletingLastPathComponent().appendingPathComponent("share/ranktop/themes").path
        if FileManager.default.fileExists(atPath: share) { found.append(share) }
        for _ in 0..<6 {
            let themes = dir.appendingPathComponent("Themes").path
            if FileManager.default.fileExists(atPath: themes + "/default.toml") {
                found.append(themes)
                break
            }
            dir = dir.deletingLastPathComponent()
        }
        return found
    }

    /// The theme for `spec` (a name or a path; nil for the default), or monochrome when colour is off.
    public func choose(_ spec: String?, noColor: Bool) -> ThemeChoice {
        if noColor { return ThemeChoice(theme: BuiltinThemes.monochrome) }
        guard let spec, !spec.isEmpty else { return ThemeChoice(theme: BuiltinThemes.defaultTheme) }
        switch locate(spec) {
        case let .success(path):
            return load(path: path)
        case let .builtin(theme):
            return ThemeChoice(theme: theme)
        case let .failure(message):
            return ThemeChoice(theme: BuiltinThemes.defaultTheme, warning: message + "; using the default theme")
        }
    }

    /// Reads and parses one theme file over the default theme.
    public func load(path: String) -> ThemeChoice {
        guard let data = FileManager.default.contents(atPath: path) else {
            return ThemeChoice(theme: BuiltinThemes.defaultTheme, warning: "\(path): cannot read the theme file; using the default theme")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return ThemeChoice(theme: BuiltinThemes.defaultTheme, warning: "\(path): the theme file is not UTF-8; using the default theme")
        }
        do {
            return ThemeChoice(theme: try ThemeParser.parse(text, file: path, base: BuiltinThemes.defaultTheme))
        } catch {
            return ThemeChoice(theme: BuiltinThemes.defaultTheme, warning: "\(error.description); using the default theme")
        }
    }

    private enum Location {
        case success(String)
        case builtin(Theme)
        case failure(String)
    }

    private func locate(_ spec: String) -> Location {
        if spec.contains("/") || spec.hasSuffix(".toml") {
            var info = stat()
            if stat(spec, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR {
                return .success(spec)
            }
            return .failure("theme file '\(spec)' not found")
        }
        for dir in searchDirectories {
            let path = dir + "/" + spec + ".toml"
            if FileManager.default.fileExists(atPath: path) { return .success(path) }
        }
        if spec == "default" { return .builtin(BuiltinThemes.defaultTheme) }
        if spec == "monochrome" { return .builtin(BuiltinThemes.monochrome) }
        let looked = searchDirectories.isEmpty ? "" : " (looked in \(searchDirectories.joined(separator: ", ")))"
        return .failure("no theme named '\(spec)'\(looked); available: \(availableNames().joined(separator: ", "))")
    }

    private var searchDirectories: [String] {
        (userDirectory.map { [$0] } ?? []) + installedDirectories
    }

    /// Every theme name the search path offers, built-in ones included.
    public func availableNames() -> [String] {
        var names: Set<String> = ["default", "monochrome"]
        for dir in searchDirectories {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            for file in files where file.hasSuffix(".toml") { names.insert(String(file.dropLast(5))) }
        }
        return names.sorted()
    }
}
