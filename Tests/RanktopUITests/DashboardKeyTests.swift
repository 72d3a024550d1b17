import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

/// What each key does, through `handle` and the next render, as a user would see it.
@Suite struct DashboardKeyTests {
    let model = Fixtures.eight
    let now = SyntheticRun.eight.now

    func rendered(_ dashboard: inout Dashboard, width: Int = 120, height: Int = 40) -> String {
        dashboard.render(model: model, now: now, size: Size(width: width, height: height)).text()
    }

    func press(_ dashboard: inout Dashboard, _ keys: Key...) -> [DashboardAction] {
        keys.map { dashboard.handle(.key($0), model: model, now: now) }
    }

    /// The rank numbers of the table rows on screen, top to bottom.
    func rankRows(_ screen: String) -> [Int] {
        screen.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("│"), line.contains(" gpu-") else { return nil }
            return Int(line.dropFirst().prefix(5).filter { $0 != " " })
        }
    }

    func type(_ dashboard: inout Dashboard, _ text: String) {
        for c in text { _ = dashboard.handle(.key(.char(c)), model: model, now: now) }
    }

    @Test func test_q_quitsAtOnce_whenTheDashboardDoesNotOwnTheRun() {
        var d = Fixtures.dashboard(ownsRun: false)
        #expect(press(&d, .char("q")) == [.quit])
    }

    @Test func test_q_asksFirst_whenTheDashboardOwnsTheRun() {
        var d = Fixtures.dashboard(ownsRun: true)
        #expect(press(&d, .char("q")) == [.redraw])
        #expect(rendered(&d).contains("Quit?"))
        #expect(press(&d, .escape) == [.redraw])
        #expect(d.overlay == nil)
        #expect(press(&d, .char("q"), .char("x"), .char("y")) == [.redraw, .none, .quitStoppingRun])
    }

    @Test func test_q_quitsAtOnce_whenTheOwnedRunIsOver() {
        var d = Fixtures.dashboard(ownsRun: true)
        var over = RunModel(limits: .live)
        over.apply(Fixtures.hello(0, world: 2))
        over.apply(Fixtures.hello(1, world: 2))
        over.apply(Event(rank: 0, ts: SyntheticRun.t0 + 1, .bye(code: 0, error: nil)))
        #expect(d.handle(.key(.char("q")), model: over, now: now) == .redraw)
        _ = d.handle(.key(.escape), model: over, now: now)
        over.apply(Event(rank: 1, ts: SyntheticRun.t0 + 1, .bye(code: 1, error: "boom")))
        #expect(d.handle(.key(.char("q")), model: over, now: now) == .quit)
    }

    @Test func test_t_opensADialogNamingTheRun_EnterSendsTheReason() {
        var d = Fixtures.dashboard()
        _ = press(&d, .char("t"))
        let screen = rendered(&d)
        #expect(screen.contains("Inject a trigger into run r42 (8 ranks"))
        #expect(screen.contains("Enter sends the trigger"))
        type(&d, "loss diverged")
        _ = press(&d, .backspace)
        #expect(press(&d, .enter) == [.injectTrigger(reason: "loss diverge")])
        #expect(d.overlay == nil)
    }

    @Test func test_triggerDialog_withoutAReason_sendsNone_andEscCancels() {
        var d = Fixtures.dashboard()
        _ = press(&d, .char("t"))
        type(&d, "   ")
        #expect(press(&d, .enter) == [.injectTrigger(reason: nil)])
        _ = press(&d, .char("t"))
        type(&d, "never mind")
        #expect(press(&d, .escape) == [.redraw])
        #expect(d.overlay == nil)
    }

    @Test func test_triggerDialog_onAReplay_explainsAndSendsNothing() {
        var d = Fixtures.dashboard(canControl: false)
        _ = press(&d, .char("t"))
        #expect(rendered(&d).contains("cannot stop the run"))
        type(&d, "stop")
        #expect(press(&d, .enter) == [.redraw])
    }

    @Test func test_triggerDialog_afterTheRunEnded_saysThereIsNothingToStop() {
        var d = Fixtures.dashboard()
        var over = RunModel(limits: .live)
        over.apply(Fixtures.hello(0, world: 1))
        over.apply(Event(rank: 0, ts: SyntheticRun.t0 + 1, .bye(code: 0, error: nil)))
        _ = d.handle(.key(.char("t")), model: over, now: now)
        #expect(d.render(model: over, now: now, size: Size(width: 100, height: 30)).text().contains("The run has ended"))
        #expect(d.handle(.key(.enter), model: over, now: now) == .redraw)
    }

    @Test func test_s_cyclesTheSort_lagPutsTheFurthestBehindFirst() {
        var d = Fixtures.dashboard()
        _ = press(&d, .char("s"))
        #expect(d.sort == .lag)
        #expect(rankRows(rendered(&d)) == [7, 5, 0, 1, 2, 3, 4, 6])
        _ = press(&d, .char("s"))
        #expect(d.sort == .wait)
        #expect(rankRows(rendered(&d)).prefix(6) == [0, 3, 6, 2, 1, 4])
        _ = press(&d, .char("s"))
        #expect(d.sort == .state)
        #expect(rankRows(rendered(&d)) == [7, 6, 0, 1, 2, 3, 4, 5])
        _ = press(&d, .char("s"))
        #expect(d.sort == .slow)
        _ = press(&d, .char("s"))
        #expect(d.sort == .rank)
    }

    @Test func test_I_reversesTheSort_tiesStayInRankOrder_andF1F10AreHelpAndQuit() {
        var d = Fixtures.dashboard()
        _ = press(&d, .char("s"))
        _ = press(&d, .char("I"))
        #expect(d.sortReversed)
        // Lag reversed: the least behind first, ranks of equal lag still in rank order.
        #expect(rankRows(rendered(&d)) == [0, 1, 2, 3, 4, 6, 5, 7])
        #expect(rendered(&d).contains("sort lag reversed"))
        _ = press(&d, .char("I"))
        #expect(rankRows(rendered(&d)) == [7, 5, 0, 1, 2, 3, 4, 6])
        #expect(press(&d, .function(1)) == [.redraw])
        #expect(rendered(&d).contains("this help"))
        #expect(press(&d, .escape, .function(10)).last != DashboardAction.none, "F10 quits (or asks first)")
    }

    @Test func test_slash_filtersRanksByStateNodeAndRange() {
        var d = Fixtures.dashboard()
        _ = press(&d, .char("/"))
        type(&d, "waiting")
        _ = press(&d, .enter)
        #expect(rankRows(rendered(&d)) == [0, 1, 2, 3, 4])
        #expect(rendered(&d).contains("filter waiting (5 of 8)"))

        _ = press(&d, .char("/"), .ctrl("u"))
        type(&d, "gpu-2 4-6")
        _ = press(&d, .enter)
        #expect(rankRows(rendered(&d)) == [4, 5, 6])

        _ = press(&d, .char("/"))
        type(&d, "xyz")
        _ = press(&d, .escape)
        #expect(d.filter.text == "gpu-2 4-6")
        _ = press(&d, .escape)
        #expect(d.filter.isEmpty)
    }

    @Test func test_enter_opensTheSelectedRank_arrowsMove_escCloses() {
        var d = Fixtures.dashboard()
        _ = rendered(&d)
        _ = press(&d, .down, .char("j"), .enter)
        #expect(d.overlay == .detail(rank: 2))
        _ = press(&d, .down)
        #expect(d.overlay == .detail(rank: 3))
        _ = press(&d, .escape)
        #expect(d.overlay == nil)
        #expect(d.selectedRank == 3)
    }

    @Test func test_d_inTheDetail_requestsTheStack_andShowsTheAnswer() {
        var d = Fixtures.dashboard()
        _ = rendered(&d)
        _ = press(&d, .enter)
        #expect(press(&d, .char("d")) == [.requestStack(rank: 0)])
        #expect(rendered(&d).contains("waiting for the rank's answer"))
        var answered = model
        answered.apply(Event(rank: 0, ts: now + 0.2, .stack(id: "s1", frames: ["train.py:10 in main", "accelerate/state.py:88 in wait_for_everyone"])))
        let screen = d.render(model: answered, now: now + 0.3, size: Size(width: 120, height: 40)).text()
        // Formatted as the stacks view does, innermost first.
        let lines = screen.split(separator: "\n")
        let inner = lines.firstIndex { $0.contains("wait_for_everyone (accelerate/state.py:88)") }
        let outer = lines.firstIndex { $0.contains("▶ main (train.py:10)") }
        #expect(inner != nil && outer != nil && inner! < outer!, "\(screen)")
        #expect(screen.contains("s1, 100ms ago, innermost first"))
    }

    @Test func test_d_onAReplay_saysStacksCannotBeRequested() {
        var d = Fixtures.dashboard(canControl: false)
        _ = rendered(&d)
        _ = press(&d, .enter)
        #expect(press(&d, .char("d")) == [.redraw])
        #expect(d.status?.text.contains("cannot be requested") == true)
    }

    @Test func test_p_freezesTheDisplay_whileTheModelMovesOn() {
        var d = Fixtures.dashboard()
        _ = press(&d, .char("p"))
        var later = model
        later.apply(Event(rank: 5, ts: now + 1, .progress(Progress(step: 59, total: 1000))))
        let paused = d.render(model: later, now: now + 1, size: Size(width: 120, height: 40)).text()
        #expect(paused.contains("PAUSED"))
        #expect(paused.contains("58/1000"))
        _ = press(&d, .char("p"))
        #expect(d.render(model: later, now: now + 1, size: Size(width: 120, height: 40)).text().contains("59/1000"))
    }

    @Test func test_tab_movesFocus_andRevealsACollapsedPanel() {
        var d = Fixtures.dashboard()
        #expect(!rendered(&d, width: 80, height: 24).contains("PHASES"))
        // As the eye reads the dock: the left column's top, the right one's, then the next row.
        _ = press(&d, .tab, .tab)
        #expect(d.focus == .triggers)
        _ = press(&d, .tab)
        #expect(d.focus == .phases)
        #expect(rendered(&d, width: 80, height: 24).contains("PHASES"))
        _ = press(&d, .backTab)
        #expect(d.focus == .triggers)
        _ = press(&d, .backTab)
        #expect(d.focus == .barriers)
    }

    @Test func test_questionMark_showsHelp_anyKeyCloses() {
        var d = Fixtures.dashboard()
        _ = press(&d, .char("?"))
        #expect(rendered(&d).contains("ranktop keys"))
        #expect(press(&d, .char("x")) == [.redraw])
        #expect(d.overlay == nil)
    }

    @Test func test_mouse_clickSelectsARow_doubleClickOpensIt_wheelScrolls() {
        var d = Fixtures.dashboard()
        let screen = rendered(&d).split(separator: "\n", omittingEmptySubsequences: false)
        let row = screen.firstIndex { $0.hasPrefix("│   4 gpu-2") }!
        #expect(d.handle(.mouse(MouseEvent(.click, x: 10, y: row)), model: model, now: now) == .redraw)
        #expect(d.selectedRank == 4)
        _ = d.handle(.mouse(MouseEvent(.doubleClick, x: 10, y: row + 1)), model: model, now: now)
        #expect(d.overlay == .detail(rank: 5))
        _ = press(&d, .escape)
        _ = d.handle(.mouse(MouseEvent(.wheelDown, x: 10, y: row)), model: model, now: now)
        #expect(d.selectedRank == 7)
    }

    @Test func test_gridKeys_moveByCellsAndRows() {
        var d = Fixtures.dashboard()
        let large = Fixtures.large
        _ = d.render(model: large, now: SyntheticRun.large.now, size: Size(width: 200, height: 50))
        _ = d.handle(.key(.down), model: large, now: SyntheticRun.large.now)
        #expect(d.selectedRank == 128)
        _ = d.handle(.key(.right), model: large, now: SyntheticRun.large.now)
        #expect(d.selectedRank == 129)
        _ = d.handle(.key(.end), model: large, now: SyntheticRun.large.now)
        #expect(d.selectedRank == 4095)
        _ = d.handle(.key(.char("g")), model: large, now: SyntheticRun.large.now)
        let table = d.render(model: large, now: SyntheticRun.large.now, size: Size(width: 200, height: 50)).text()
        #expect(table.contains("4095 gpu-512"))
    }
}

extension DashboardKeyTests {
    /// The footer shows only what applies now: a hint about the running run (the demo's
    /// scenario, the stop key) goes when the run is over, even before its time is up.
    @Test func aHintAboutTheRunLeavesTheFooterOnceTheRunIsOver() throws {
        let wall = SyntheticRun.eight.now
        var d = Fixtures.dashboard()
        d.showStatus("scenario hang: the last rank never reaches the checkpoint", now: wall, seconds: 20, whileRunning: true)
        let running = d.render(model: Fixtures.eight, now: wall, size: Size(width: 120, height: 40), wall: wall).text()
        #expect(running.contains("scenario hang"))
        let events = try DemoStateSnapshotTests.events("default")
        var over = RunModel(limits: .live)
        for event in events { over.apply(event) }
        let ended = d.render(model: over, now: events.map(\.ts).max() ?? 0, size: Size(width: 120, height: 40), wall: wall + 1).text()
        #expect(d.status == nil && !ended.contains("scenario hang"), "\(ended)")
    }
}
