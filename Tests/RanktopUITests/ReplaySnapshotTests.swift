import RanktopModel
import RanktopSynthetic
@testable import RanktopUI
import Testing

/// A replay's screen: the timeline line with its badge, clock, speed and marks, the replay's
/// footer and help, in Unicode and ASCII, at the smallest size.
@Suite struct ReplaySnapshotTests {
    static let start = SyntheticRun.t0
    static let end = SyntheticRun.eight.now

    static func dashboard(glyphs: Glyphs = .unicode, playing: Bool = false, indexed: Double = 1) -> Dashboard {
        var dashboard = Fixtures.dashboard(glyphs: glyphs, canControl: false)
        dashboard.options.replay = true
        let moments = [
            NotableMoment(time: start + 11, kind: .straggler, text: "barrier #0 completed late"),
            NotableMoment(time: start + 45, kind: .trigger, text: "the trigger fired at check #29"),
            NotableMoment(time: start + 62, kind: .hang, text: "barrier #3 late"),
        ]
        let overview = ReplayOverview(start: start, end: end, moments: moments, indexed: indexed, complete: indexed >= 1, events: 1043, rejected: 2)
        dashboard.replayBar = ReplayBar(clock: start + 50, overview: overview, speedLabel: "x10", playing: playing, live: false)
        return dashboard
    }

    @Test func test_replayAt80x24_hasTheTimelineAboveTheFooterAndTheReplayKeysInIt() throws {
        let text = Fixtures.render(width: 80, height: 24, dashboard: Self.dashboard()).text()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[22].contains("REPLAY"))
        #expect(lines[22].contains("+00:50/"))
        #expect(lines[22].contains("◆"))
        #expect(lines[23].contains("Space play"))
        #expect(!lines[23].contains("p pause"))
        try Golden.check(text, named: "replay-80x24")
    }

    @Test func test_replayInASCII_whileTheFirstPassReads() throws {
        let text = Fixtures.render(width: 120, height: 30, dashboard: Self.dashboard(glyphs: .ascii, playing: true, indexed: 0.42)).text()
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(text.contains("reading 42%"))
        #expect(text.contains("2 bad lines"))
        try Golden.check(text, named: "replay-120x30-ascii")
    }

    @Test func test_theReplayHelpListsExactlyTheReplayKeysAndFits80x24() throws {
        var dashboard = Self.dashboard()
        _ = dashboard.handle(.key(.char("?")), model: Fixtures.eight, now: SyntheticRun.eight.now)
        let text = Fixtures.render(width: 80, height: 24, dashboard: dashboard).text()
        for entry in Keymap.entries(replay: true) { #expect(text.contains(entry.help), "the replay help lacks \(entry.keys)") }
        #expect(!text.contains("pause the display"))
        #expect(text.contains("any key closes this help"))
        try Golden.check(text, named: "replay-help-80x24")
    }
}
