import RanktopModel
import RanktopProtocol
import RanktopUI
import Testing

/// A replayed log can hold any values the decoder accepts; drawing them must never trap. The
/// report's formatting had this bug (found by the fuzzer); the dashboard's has its own formatting.
@Suite struct HostileRenderTests {
    @Test(arguments: [1e300, -1e300, 0])
    func extremeValuesRenderWithoutTrapping(ts: Double) {
        var model = RunModel(limits: .live)
        let hello = Hello(run: "r", world: 2, localRank: 0, localWorld: 2, node: "n", pid: 1, runtime: "t", timeout: 1e300)
        model.apply(Event(rank: 0, ts: 0, seq: 0, .hello(hello)))
        model.apply(Event(rank: 1, ts: ts, seq: 0, .hello(hello)))
        model.apply(Event(rank: 0, ts: ts, seq: Int.max, .progress(Progress(step: Int.max, total: 1, epoch: 1e300, metrics: [Metric("loss", 1e300), Metric("x", -.infinity), Metric("y", .nan)]))))
        model.apply(Event(rank: 0, ts: -ts, seq: 1, .progress(Progress(step: 0, total: Int.max))))
        model.apply(Event(rank: 1, ts: ts, seq: 1, .progress(Progress(step: Int.max / 2, total: Int.max))))
        model.apply(Event(rank: 0, ts: ts, seq: 2, .barrierEnter(BarrierEnter(n: Int.max, name: String(repeating: "x", count: 500)))))
        model.apply(Event(rank: 1, ts: -ts, seq: 2, .phaseEnter(PhaseEnter(name: "p", mode: .mainFirst, main: false))))
        model.apply(Event(rank: 1, ts: ts, seq: 3, .triggerCheck(n: Int.max, fired: true)))
        model.apply(Event(rank: 0, ts: ts, .dropped(count: Int.max)))
        model.apply(Event(rank: -1, ts: ts, .inject(Injection(id: "i", reason: "r", by: "b"))))
        for (width, height) in [(80, 24), (120, 40), (200, 50)] {
            for now in [ts, -ts, 0, 1e300] {
                let text = Fixtures.render(model, now: now, width: width, height: height).text()
                // A whole frame, with both ranks and the hostile barrier in it, not a blank screen.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == height, "\(width)x\(height)")
                #expect(text.contains("run r"), "\(width)x\(height)")
                #expect(text.contains("barrier") || text.contains("WAITS"), "\(width)x\(height)")
            }
        }
    }

    /// A filter asks each rank of the world for its node, and a replayed log need not have a hello
    /// from every rank (found by FuzzCollectorIngest; Fuzz/regressions/).
    @Test(arguments: ["/1", "g/1"])
    func filterOverRanksNeverHeardFrom(keys: String) {
        var model = RunModel(limits: .live)
        model.apply(Fixtures.hello(0, world: 4, ts: 1))
        var dashboard = Fixtures.dashboard()
        for key in keys { _ = dashboard.handle(.key(.char(key)), model: model, now: 1) }
        let text = Fixtures.render(model, now: 1, width: 80, height: 24, dashboard: dashboard).text()
        #expect(!text.isEmpty)
    }
}
