import RanktopModel
import RanktopProtocol
import RanktopSynthetic
@testable import RanktopUI
import Testing

/// The app loop driven as the terminal drives it, through a `TestScreen` and a `VirtualClock`:
/// keys in, inbox messages in, time moved by the loop's own waits, frames compared as text.
@Suite struct DashboardAppTests {
    /// The loop and what it reaches: the screen, the clock, the inbox and the requests it made.
    final class Harness {
        let clock = VirtualClock(wall: SyntheticRun.eight.now)
        let screen: TestScreen
        let inbox = DashboardInbox()
        private(set) var requests: [DashboardApp.Request] = []
        var app: DashboardApp!

        init(ownsRun: Bool = false, canControl: Bool = true, size: Size = Size(width: 120, height: 40), utf8: Bool = true,
             events: [Event] = SyntheticRun.eight.events()) {
            screen = TestScreen(size: size, capabilities: ScreenCapabilities(utf8: utf8, depth: .direct), clock: clock)
            let options = DashboardOptions(label: "unix:/tmp/r42.sock", logPath: "/tmp/r42.jsonl", ownsRun: ownsRun, canControl: canControl)
            app = DashboardApp(settings: .init(options: options, endedMessage: "end of log"), screen: screen, inbox: inbox, clock: clock) { [unowned self] in
                requests.append($0)
            }
            inbox.post(events)
        }

        /// Steps until a frame is drawn (at most `limit` turns); returns how the session ended if it did.
        @discardableResult
        func nextFrame(limit: Int = 10) -> DashboardOutcome? {
            let before = screen.frames.count
            for _ in 0..<limit {
                if let outcome = app.step() { return outcome }
                if screen.frames.count > before { return nil }
            }
            Issue.record("no frame in \(limit) turns of the loop")
            return nil
        }

        var text: String { screen.text ?? "" }
        var footer: String { screen.frames.last?.textLines().last ?? "" }
    }

    /// The rank numbers of the table rows on screen, top to bottom.
    func rankRows(_ screen: String) -> [Int] {
        screen.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("│"), line.contains(" gpu-") else { return nil }
            return Int(line.dropFirst().prefix(5).filter { $0 != " " })
        }
    }

    @Test func test_theFirstFrameComesAtOnce_withTheEventsOfTheInbox() {
        let h = Harness()
        #expect(h.app.step() == nil)
        #expect(h.screen.frames.count == 1)
        #expect(h.screen.waits == [0])
        #expect(rankRows(h.text) == Array(0..<8))
        #expect(h.app.model.world == 8)
    }

    @Test func test_aKeyRedrawsAtTheNextFrameInterval_notBefore() {
        let h = Harness()
        h.nextFrame()
        h.screen.press(.char("s"))
        #expect(h.app.step() == nil)
        #expect(h.screen.frames.count == 1, "a frame was drawn 0 s ago: the next waits for the 10 frames/s cap")
        h.nextFrame()
        #expect(h.screen.frames.count == 2)
        #expect(abs(h.screen.waits.last! - 0.1) < 1e-6)
        #expect(h.footer.contains("ranks sorted by lag"))
        #expect(rankRows(h.text) != Array(0..<8))
    }

    @Test func test_slashTextEnter_filtersTheRanks_EscClearsTheFilter() {
        let h = Harness()
        h.nextFrame()
        h.screen.press(.char("/"))
        h.nextFrame()
        #expect(h.footer.contains("filter ranks"))
        h.screen.type("0-2")
        h.screen.press(.enter)
        h.nextFrame()
        #expect(rankRows(h.text) == [0, 1, 2])
        #expect(!h.footer.contains("filter ranks"))
        h.screen.press(.escape)
        h.nextFrame()
        #expect(rankRows(h.text) == Array(0..<8))
    }

    @Test func test_tab_movesTheFocusToTheNextPanel() {
        let h = Harness()
        h.nextFrame()
        let before = h.app.dashboard.focus
        h.screen.press(.tab)
        h.nextFrame()
        #expect(h.app.dashboard.focus == before.next)
        h.screen.press(.backTab)
        h.nextFrame()
        #expect(h.app.dashboard.focus == before)
    }

    @Test func test_questionMark_showsEveryKeyOfTheKeymap_anyKeyClosesIt() {
        let h = Harness()
        h.nextFrame()
        h.screen.press(.char("?"))
        h.nextFrame()
        #expect(h.text.contains("ranktop keys"))
        for entry in Keymap.entries(replay: false) { #expect(h.text.contains(entry.help), "the help lacks \(entry.keys)") }
        h.screen.press(.char("x"))
        h.nextFrame()
        #expect(!h.text.contains("ranktop keys"))
    }

    @Test func test_qThenN_staysInTheRunItOwns_qThenY_quitsStoppingIt() {
        let h = Harness(ownsRun: true)
        h.nextFrame()
        h.screen.press(.char("q"))
        #expect(h.nextFrame() == nil)
        #expect(h.text.contains("Quit?"))
        h.screen.press(.char("n"))
        #expect(h.nextFrame() == nil)
        #expect(!h.text.contains("Quit?"))
        h.screen.press(.char("q"), .char("y"))
        #expect(h.app.step() == .quitStoppingRun)
    }

    @Test func test_q_quitsAtOnce_onceTheSourceEnded() {
        let h = Harness(ownsRun: true)
        h.nextFrame()
        h.inbox.post(.sourceEnded)
        h.nextFrame()
        #expect(h.text.contains("end of log"))
        h.screen.press(.char("q"))
        #expect(h.app.step() == .quit)
    }

    @Test func test_withNothingNew_theClockOnScreenMovesOnceASecond() {
        let h = Harness(events: [Fixtures.hello(0, world: 1, ts: SyntheticRun.eight.now)])
        h.nextFrame()
        let first = h.text
        let startedAt = h.clock.wall
        h.nextFrame()
        #expect(abs(h.clock.wall - startedAt - 1) < 1e-6, "the loop slept until its next tick, a second later")
        #expect(h.text != first, "an age on screen moved")
        #expect(h.screen.waits.dropFirst().allSatisfy { $0 > 0 }, "no busy loop between ticks")
    }

    @Test func test_eventsArrivingWhilePaused_doNotRedraw() {
        let h = Harness()
        h.nextFrame()
        h.screen.press(.char("p"))
        h.nextFrame()
        let frames = h.screen.frames.count
        let applied = h.app.model.eventCount
        h.inbox.post([Event(rank: 0, ts: SyntheticRun.eight.now, seq: 10_000, .heartbeat)])
        // A key that does nothing: the loop takes the inbox without waiting for its next tick.
        h.screen.press(.char("z"))
        #expect(h.app.step() == nil)
        #expect(h.screen.frames.count == frames)
        #expect(h.app.model.eventCount == applied + 1)
    }

    @Test func test_t_reasonEnter_asksTheRunForATrigger_andShowsTheAnswer() {
        let h = Harness()
        h.nextFrame()
        h.screen.press(.char("t"))
        h.screen.type("loss diverged")
        h.screen.press(.enter)
        h.nextFrame()
        #expect(h.requests == [.injectTrigger(reason: "loss diverged")])
        h.inbox.post(.status("trigger i-1 handed to the run", isError: false))
        h.nextFrame()
        #expect(h.footer.contains("trigger i-1 handed to the run"))
    }

    @Test func test_aSignalPostedToTheInbox_endsTheLoop() {
        let h = Harness()
        h.nextFrame()
        h.inbox.post(.interrupted(signal: 15))
        #expect(h.app.step() == .interrupted(signal: 15))
    }

    @Test func test_aResize_repaintsEveryCellAtTheNewSize() {
        let h = Harness()
        h.nextFrame()
        h.screen.size = Size(width: 100, height: 30)
        h.screen.send(.resize)
        h.nextFrame()
        #expect(h.screen.invalidations == 1)
        #expect(h.screen.frames.last?.width == 100)
        #expect(h.screen.frames.last?.height == 30)
    }

    @Test func test_aScreenWithoutUTF8_getsASCIIGlyphs() {
        let h = Harness(utf8: false)
        h.nextFrame()
        let allASCII = h.text.unicodeScalars.allSatisfy(\.isASCII)
        #expect(allASCII)
        #expect(h.text.contains("+-"))
    }
}
