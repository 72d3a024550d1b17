import Foundation
import RanktopModel
import RanktopSynthetic
import RanktopUI
import Testing

/// The layout at the sizes users have: the ranks table takes the rows it needs and the dock the
/// rest, laid out so that its panels stay wide (two by two unless the terminal is very wide or
/// too low) and sized by what they hold, at 160x45 and 300x80 for the eight-rank run and the
/// 4096-rank one.
@Suite struct LayoutSnapshotTests {
    /// The dock's panels, by their frame's top-left corner on screen.
    func panelRows(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains("┌ WAITS") || $0.contains("┌ PHASES") || $0.contains("┌ TRIGGERS") || $0.contains("┌ EVENTS") }
    }

    @Test func eightRanksAt160x45_theDockIsTwoByTwoAndItsPanelsWide() throws {
        let text = Fixtures.render(width: 160, height: 45).text()
        let rows = panelRows(text)
        #expect(rows.first?.contains("┌ WAITS") == true && rows.first?.contains("┌ TRIGGERS") == true, "\(rows)")
        // Two columns of two; each column shares its rows by what its panels hold, so the
        // phases (one line) and the events (many) do not start on the same row.
        let lines = text.split(separator: "\n").map(String.init)
        func at(_ title: String) -> (row: Int, column: Int)? {
            for (i, line) in lines.enumerated() {
                if let range = line.range(of: "┌ " + title) { return (i, line.distance(from: line.startIndex, to: range.lowerBound)) }
            }
            return nil
        }
        let waits = try #require(at("WAITS")), phases = try #require(at("PHASES"))
        let triggers = try #require(at("TRIGGERS")), events = try #require(at("EVENTS"))
        #expect(phases.column == waits.column && phases.row > waits.row && events.column == triggers.column && events.row > triggers.row)
        #expect(events.row - triggers.row < phases.row - waits.row, "the triggers (3 lines) take fewer rows than the waits (10)")
        // The ranks table has its 8 rows and no more.
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("│   ") && $0.contains(" gpu-") }.count == 8)
        try Golden.check(text, named: "eight-160x45")
    }

    @Test func eightRanksAt300x80_fourPanelsSideBySide() throws {
        let text = Fixtures.render(width: 300, height: 80).text()
        #expect(panelRows(text).count == 1)
        try Golden.check(text, named: "eight-300x80")
    }

    @Test func ranks4096At300x80() throws {
        let text = Fixtures.render(Fixtures.large, now: SyntheticRun.large.now, width: 300, height: 80).text()
        #expect(text.contains("missing 5: 1023, 2048-2050, 3071"))
        try Golden.check(text, named: "large-4096-300x80")
    }

    @Test func ranks4096At160x45() throws {
        let text = Fixtures.render(Fixtures.large, now: SyntheticRun.large.now, width: 160, height: 45).text()
        try Golden.check(text, named: "large-4096-160x45")
    }
}
