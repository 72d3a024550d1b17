import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

/// What panels say about particular situations, read off the rendered screen.
@Suite struct PanelTests {
    let t0 = SyntheticRun.t0

    func screen(_ model: RunModel, now: Double, width: Int = 240, height: Int = 40) -> String {
        var d = Fixtures.dashboard()
        return d.render(model: model, now: now, size: Size(width: width, height: height)).text()
    }

    @Test func test_anInjectionAppliedByEveryRank_isOneCauseNamingWhoAskedAndTheRanks() {
        var model = RunModel(limits: .live)
        for r in 0..<4 { model.apply(Fixtures.hello(r, world: 4, ts: t0)) }
        model.apply(Event(rank: -1, ts: t0 + 1, .inject(Injection(id: "inj-9", reason: "stop now", by: "alice@host"))))
        #expect(screen(model, now: t0 + 1.5).contains("pending inj-9 \"stop now\" by alice@host"))
        for r in 0..<4 {
            model.apply(Event(rank: r, ts: t0 + 2, .triggerSet(TriggerSet(source: .manual, reason: "stop now", id: "inj-9"))))
            model.apply(Event(rank: r, ts: t0 + 2.1, .triggerCheck(n: 0, fired: true)))
        }
        let text = screen(model, now: t0 + 3)
        #expect(text.contains("fired check #0"))
        #expect(text.contains("4/4 ranks"))
        #expect(text.contains("manual inj-9 \"stop now\" by alice@host (ranks 0-3)"))
        #expect(!text.contains("pending inj-9"))
    }

    @Test func test_aBarrierOpenPastTheCollectiveTimeout_saysSo() {
        var model = RunModel(limits: .live)
        for r in 0..<2 {
            model.apply(Event(rank: r, ts: t0, seq: 0, .hello(Hello(run: "t", world: 2, localRank: r, localWorld: 2, node: "n", pid: r, runtime: "t", timeout: 60))))
        }
        model.apply(Event(rank: 0, ts: t0 + 1, .barrierEnter(BarrierEnter(n: 0, name: "sync"))))
        #expect(screen(model, now: t0 + 11).contains("timeout in 50s"))
        let late = screen(model, now: t0 + 91)
        #expect(late.contains("timed out 30s ago"))
        #expect(late.contains("missing 1: 1"))
    }

    @Test func test_phasesShowWhoIsInWhichPart() {
        var model = RunModel(limits: .live)
        for r in 0..<4 { model.apply(Fixtures.hello(r, world: 4, ts: t0)) }
        for r in 0..<4 { model.apply(Event(rank: r, ts: t0 + 1, .phaseEnter(PhaseEnter(name: "load", mode: .mainFirst, main: r == 0)))) }
        for r in 1..<4 { model.apply(Event(rank: r, ts: t0 + 1, .barrierEnter(BarrierEnter(n: 0, phase: "load")))) }
        let text = screen(model, now: t0 + 5)
        #expect(text.contains("main part: 0"))
        #expect(text.contains("waiting for main: 1-3"))
    }

    @Test func test_failedAndLostRanks_sayWhy() {
        var model = RunModel(limits: .live)
        for r in 0..<3 { model.apply(Fixtures.hello(r, world: 3, ts: t0)) }
        model.apply(Event(rank: 1, ts: t0 + 1, .bye(code: 3, error: "CUDA error: out of memory")))
        model.apply(Event(rank: 2, ts: t0 + 1, .lost(reason: "heartbeats stopped")))
        let text = screen(model, now: t0 + 2)
        #expect(text.contains("failed code 3: CUDA error: out of memory"))
        #expect(text.contains("lost: heartbeats stopped"))
    }
}
