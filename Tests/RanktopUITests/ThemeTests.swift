import Foundation
import RanktopUI
import Testing

@Suite struct ThemeTests {
    static let themesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Themes").path

    @Test func test_compiledInThemesAreTheFilesInThemesDirectory() throws {
        let file = try String(contentsOfFile: Self.themesDirectory + "/default.toml", encoding: .utf8)
        let parsedFile = try ThemeParser.parse(file, file: "default.toml", base: BuiltinThemes.monochrome)
        #expect(parsedFile == BuiltinThemes.defaultTheme)
        let mono = try String(contentsOfFile: Self.themesDirectory + "/monochrome.toml", encoding: .utf8)
        #expect(try ThemeParser.parse(mono, file: "monochrome.toml", base: BuiltinThemes.defaultTheme) == BuiltinThemes.monochrome)
    }

    @Test func test_everyShippedThemeParsesAndNamesItself() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.themesDirectory).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(names == ["default.toml", "high-contrast.toml", "light.toml", "monochrome.toml", "solarized-dark.toml"])
        for name in names {
            let text = try String(contentsOfFile: Self.themesDirectory + "/" + name, encoding: .utf8)
            let theme = try ThemeParser.parse(text, file: name, base: BuiltinThemes.defaultTheme)
            #expect(theme.name + ".toml" == name)
        }
    }

    @Test func test_defaultThemeSetsEveryElement_monochromeUsesNoColour() {
        for role in ThemeRole.allCases {
            #expect(BuiltinThemes.defaultTheme.styles[role] != nil, "default theme misses \(role.key)")
            #expect(BuiltinThemes.monochrome.styles[role] != nil, "monochrome theme misses \(role.key)")
        }
        #expect(BuiltinThemes.defaultTheme.usesColor)
        #expect(!BuiltinThemes.monochrome.usesColor)
    }

    @Test func test_aThemeFileOverridesOnlyTheElementsItNames() throws {
        let theme = try ThemeParser.parse("""
        name = "mine"
        [styles]
        "state.failed" = { fg = "#ff0000", bg = 17, bold = true, underline = true }
        [styles.barrier]
        missing = { fg = "bright-red", reverse = true }
        """, file: "mine.toml", base: BuiltinThemes.defaultTheme)
        #expect(theme.name == "mine")
        #expect(theme.raw(.stateFailed) == Style(fg: .rgb(255, 0, 0), bg: .indexed(17), [.bold, .underline]))
        #expect(theme.raw(.barrierMissing) == Style(fg: .indexed(9), [.reverse]))
        #expect(theme.raw(.stateRunning) == BuiltinThemes.defaultTheme.raw(.stateRunning))
    }

    @Test(arguments: [
        ("name = \"x\"\n[styles]\n\"state.runing\" = { fg = \"red\" }\n", 3, "unknown element 'state.runing'"),
        ("name = \"x\"\n\n[styles]\ntext = { fg = \"grean\" }\n", 4, "'text.fg': 'grean' is not a colour"),
        ("name = \"x\"\n[styles]\ndim = { fg = 300 }\n", 3, "palette index 300 is outside 0-255"),
        ("name = \"x\"\n[styles]\ndim = { blink = true }\n", 3, "unknown field 'blink'"),
        ("name = \"x\"\n[styles]\ndim = { bold = \"yes\" }\n", 3, "'dim.bold' must be true or false"),
        ("name = \"x\"\n[styles]\ndim = \"red\"\n", 3, "'dim' must be a table"),
        ("name = \"x\"\ncolour = 1\n", 2, "unknown key 'colour'"),
        ("name = \"x\"\n[styles\ntext = {}\n", 2, "not valid TOML"),
    ])
    func test_aBrokenThemeNamesFileLineAndProblem(text: String, line: Int, problem: String) {
        #expect {
            try ThemeParser.parse(text, file: "/themes/broken.toml", base: BuiltinThemes.defaultTheme)
        } throws: { error in
            guard let problemError = error as? ThemeProblem else { return false }
            return problemError.file == "/themes/broken.toml" && problemError.line == line && problemError.problem.contains(problem)
                && problemError.description.hasPrefix("/themes/broken.toml:\(line): ")
        }
    }

    @Test func test_lookupOrder_pathThenUserDirectoryThenInstalled() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ranktop-theme-\(UUID().uuidString)").path
        let user = root + "/user", installed = root + "/installed"
        try FileManager.default.createDirectory(atPath: user, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: installed, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "name = \"from-user\"\n".write(toFile: user + "/light.toml", atomically: true, encoding: .utf8)
        try "name = \"from-installed\"\n".write(toFile: installed + "/light.toml", atomically: true, encoding: .utf8)
        try "name = \"only-installed\"\n".write(toFile: installed + "/solarized-dark.toml", atomically: true, encoding: .utf8)
        try "name = \"by-path\"\n".write(toFile: root + "/light.toml", atomically: true, encoding: .utf8)
        let loader = ThemeLoader(userDirectory: user, installedDirectories: [installed])

        #expect(loader.choose(root + "/light.toml", noColor: false).theme.name == "by-path")
        #expect(loader.choose("light", noColor: false).theme.name == "from-user")
        #expect(loader.choose("solarized-dark", noColor: false).theme.name == "only-installed")
        #expect(loader.choose(nil, noColor: false).theme == BuiltinThemes.defaultTheme)
        #expect(loader.choose("default", noColor: false).theme == BuiltinThemes.defaultTheme)
        #expect(loader.choose("light", noColor: true).theme == BuiltinThemes.monochrome)
    }

    @Test func test_unknownOrBrokenTheme_fallsBackToDefaultWithAMessage() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ranktop-theme-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "name = \"x\"\n[styles]\nborder = { fg = \"nope\" }\n".write(toFile: root + "/bad.toml", atomically: true, encoding: .utf8)
        let loader = ThemeLoader(userDirectory: root, installedDirectories: [Self.themesDirectory])

        let broken = loader.choose("bad", noColor: false)
        #expect(broken.theme == BuiltinThemes.defaultTheme)
        #expect(broken.warning == "\(root)/bad.toml:3: 'border.fg': 'nope' is not a colour (use \"#rrggbb\", 0-255, \"default\" or a name: default, black, red, green, yellow, blue, magenta, cyan, white, bright-black, bright-red, bright-green, bright-yellow, bright-blue, bright-magenta, bright-cyan, bright-white); using the default theme")

        let unknown = loader.choose("neon", noColor: false)
        #expect(unknown.theme == BuiltinThemes.defaultTheme)
        #expect(unknown.warning?.hasPrefix("no theme named 'neon'") == true)
        #expect(unknown.warning?.contains("available: bad, default, high-contrast, light, monochrome, solarized-dark") == true)

        let missing = loader.choose("/nonexistent/theme.toml", noColor: false)
        #expect(missing.warning == "theme file '/nonexistent/theme.toml' not found; using the default theme")
    }
}
