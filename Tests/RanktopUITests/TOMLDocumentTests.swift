import Testing
@testable import RanktopUI

/// The theme files' TOML, read by hand (TOMLKit linked full Foundation and ICU into the binary).
@Suite struct TOMLDocumentTests {
    @Test func tablesQuotedAndDottedKeysAndInlineTablesNest() throws {
        let text = """
        # a comment
        name = "x" # trailing
        [styles]
        "state.running" = { fg = "#5fd75f", bold = true }
        barrier.missing = { bg = 236 }
        [styles.title]
        fg = 'literal\\no escape'
        list = [1, 2,
          3]
        ratio = 1.5
        """
        let root = try TOMLDocument(parsing: text).root
        #expect(root.keys == ["name", "styles"])
        #expect(root["name"]?.string == "x")
        let styles = try #require(root["styles"]?.table)
        #expect(styles["state.running"]?.table?["fg"]?.string == "#5fd75f")
        #expect(styles["state.running"]?.table?["bold"]?.bool == true)
        #expect(styles["barrier"]?.table?["missing"]?.table?["bg"]?.int == 236)
        #expect(styles["title"]?.table?["fg"]?.string == "literal\\no escape")
        #expect(styles["title"]?.table?["list"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(styles["title"]?.table?["ratio"] == .float(1.5))
    }

    @Test func basicStringsUnescape() throws {
        let root = try TOMLDocument(parsing: #"s = "a\"b\\c\u00e9\tend""#).root
        #expect(root["s"]?.string == "a\"b\\c\u{e9}\tend")
    }

    @Test(arguments: [
        ("a = 1\nb = \n", 2, "expected a value"),
        ("a = 1\na = 2\n", 2, "'a' is defined twice"),
        ("[t]\n[t]\n", 2, "defined twice"),
        ("[[t]]\n", 1, "arrays of tables"),
        ("x = \"\"\"\nmulti\n\"\"\"\n", 1, "multi-line strings"),
        ("when = 2026-12-01\n", 1, "dates and times"),
        ("a = bare\n", 1, "strings need quotes"),
        ("a = \"open\n", 1, "unterminated string"),
        ("t = { a = 1 b = 2 }\n", 1, "expected ',' or '}'"),
        ("a = 1 2\n", 1, "after the value"),
        ("a = 1\na.b = 2\n", 2, "is a value, not a table"),
    ])
    func problemsNameTheirLine(text: String, line: Int, message: String) {
        do {
            _ = try TOMLDocument(parsing: text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
