import RanktopModel
import RanktopSynthetic
import RanktopUI
import Testing

/// Golden renders of known runs: what a user sees, cell for cell.
@Suite struct SnapshotTests {
    @Test func test_eightRanksAt80x24_showsEveryRankAndTheOpenBarrierWithItsMissingRanks() throws {
        let canvas = Fixtures.render(width: 80, height: 24)
        let text = canvas.text()
        for rank in 0..<8 { #expect(text.contains("\n│\(Format.right("\(rank)", 4)) gpu-")) }
        #expect(text.contains("missing 2: 5, 7"))
        try Golden.check(text, named: "eight-80x24")
    }

    @Test func test_eightRanksAt120x40() throws {
        try Golden.check(Fixtures.render(width: 120, height: 40).text(), named: "eight-120x40")
    }

    @Test func test_eightRanksAt200x50() throws {
        try Golden.check(Fixtures.render(width: 200, height: 50).text(), named: "eight-200x50")
    }

    @Test func test_4096RanksAt200x50_useTheGridWithEveryRankOnScreen() throws {
        let canvas = Fixtures.render(Fixtures.large, now: SyntheticRun.large.now, width: 200, height: 50)
        let text = canvas.text()
        // Every grid row is on screen: the last row starts at rank 3968 (31 x 128).
        #expect(text.contains("│3968 "))
        #expect(text.contains("missing 5: 1023, 2048-2050, 3071"))
        try Golden.check(text, named: "large-4096-200x50")
    }

    @Test func test_asciiFallback_usesNoCharacterOutsideASCII() throws {
        let canvas = Fixtures.render(width: 80, height: 24, dashboard: Fixtures.dashboard(glyphs: .ascii))
        let text = canvas.text()
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
        try Golden.check(text, named: "eight-80x24-ascii")
    }

    @Test func test_monochrome_usesAttributesOnly() throws {
        let canvas = Fixtures.render(width: 80, height: 24, dashboard: Fixtures.dashboard(theme: BuiltinThemes.monochrome))
        #expect(canvas.cells.allSatisfy { $0.style.fg == .terminalDefault && $0.style.bg == .terminalDefault })
        try Golden.check(canvas.textWithStyles(), named: "eight-80x24-monochrome")
    }

    @Test func test_defaultThemeStyles() throws {
        try Golden.check(Fixtures.render(width: 80, height: 24).textWithStyles(), named: "eight-80x24-styles")
    }

    @Test func test_rankDetail() throws {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.render(model: Fixtures.eight, now: SyntheticRun.eight.now, size: Size(width: 120, height: 40))
        for _ in 0..<5 { _ = dashboard.handle(.key(.down), model: Fixtures.eight, now: SyntheticRun.eight.now) }
        _ = dashboard.handle(.key(.enter), model: Fixtures.eight, now: SyntheticRun.eight.now)
        #expect(dashboard.overlay == .detail(rank: 5))
        try Golden.check(Fixtures.render(width: 120, height: 40, dashboard: dashboard).text(), named: "detail-rank5-120x40")
    }

    @Test func test_helpAt80x24() throws {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.handle(.key(.char("?")), model: Fixtures.eight, now: SyntheticRun.eight.now)
        try Golden.check(Fixtures.render(width: 80, height: 24, dashboard: dashboard).text(), named: "help-80x24")
    }

    @Test func test_triggerDialogAt80x24() throws {
        var dashboard = Fixtures.dashboard(ownsRun: true)
        _ = dashboard.handle(.key(.char("t")), model: Fixtures.eight, now: SyntheticRun.eight.now)
        for c in "loss diverged" { _ = dashboard.handle(.key(.char(c)), model: Fixtures.eight, now: SyntheticRun.eight.now) }
        try Golden.check(Fixtures.render(width: 80, height: 24, dashboard: dashboard).text(), named: "trigger-dialog-80x24")
    }

    @Test func test_belowMinimumSize_saysTheTerminalIsTooSmall() throws {
        let text = Fixtures.render(width: 79, height: 24).text()
        #expect(text.contains("terminal too small: 79x24"))
        #expect(Fixtures.render(width: 80, height: 23).text().contains("terminal too small: 80x23"))
        #expect(!Fixtures.render(width: 80, height: 24).text().contains("too small"))
    }
}
