import RanktopUI
import Testing

@Suite struct CanvasTests {
    @Test func test_textIsClippedAtTheLimitAndTheEdge() {
        var canvas = Canvas(width: 10, height: 1)
        let end = canvas.put("hello world", x: 2, y: 0, style: .plain, limit: 7)
        #expect(end == 7)
        #expect(canvas.text() == "  hello")
        canvas.put("0123456789ABC", x: 0, y: 0, style: .plain)
        #expect(canvas.text() == "0123456789")
    }

    @Test func test_truncatedTextEndsWithAnEllipsis() {
        var canvas = Canvas(width: 12, height: 1)
        canvas.put("a very long node name", x: 0, y: 0, width: 8, style: .plain, ellipsis: "…")
        #expect(canvas.text() == "a very …")
    }

    @Test func test_wideCharactersTakeTwoCells() {
        var canvas = Canvas(width: 6, height: 1)
        #expect(canvas.put("日本x", x: 0, y: 0, style: .plain) == 5)
        #expect(canvas.text() == "日本x")
        #expect(canvas[1, 0].isContinuation)
        // A wide character that would straddle the limit is not drawn.
        var narrow = Canvas(width: 3, height: 1)
        narrow.put("a日本", x: 0, y: 0, style: .plain)
        #expect(narrow.text() == "a日")
    }

    @Test func test_asciiCanvasReplacesWhatTheLocaleCannotShow_andControlsNeverReachTheTerminal() {
        var canvas = Canvas(width: 12, height: 1, asciiOnly: true)
        canvas.put("nœud\u{1b}[2J", x: 0, y: 0, style: .plain)
        #expect(canvas.text() == "n?ud?[2J")
    }

    @Test func test_restyleKeepsCharactersAndAddsAttributes() {
        var canvas = Canvas(width: 4, height: 1)
        canvas.put("ab", x: 0, y: 0, style: Style(fg: .indexed(2)))
        canvas.restyle(Rect(x: 0, y: 0, width: 4, height: 1), overlay: Style(bg: .indexed(4), .reverse))
        #expect(canvas[0, 0].style == Style(fg: .indexed(2), bg: .indexed(4), .reverse))
        #expect(canvas.text() == "ab")
    }
}
