import RanktopModel
import RanktopProtocol
import RanktopUI
import Testing

/// The waits panel, the ranks table and the header over a run stalled in a collective: three
/// ranks in DDP's gradient all-reduce, the fourth never came, 30 s after the last step.
@Suite struct CollectiveWaitsTests {
    static let start = 1_800_000_000.0

    static var stalledInGradients: RunModel {
        var model = RunModel(limits: .live)
        for rank in 0..<4 {
            model.apply(Event(rank: rank, ts: start, .hello(Hello(
                run: "ddp", world: 4, localRank: rank, localWorld: 4, node: "gpu-\(rank / 2)", pid: 100 + rank,
                runtime: "torch/2.15.0 gloo", timeout: 1800))))
        }
        for step in 1...30 {
            for rank in 0..<4 { model.apply(Event(rank: rank, ts: start + Double(step) * 0.5, .progress(Progress(step: step, total: 1000)))) }
        }
        for rank in 0..<3 {
            model.apply(Event(rank: rank, ts: start + 15.2, .collectiveEnter(CollectiveEnter(
                group: "world", n: 812, op: "all_reduce", size: 4, bytes: 26_214_400, dtype: "float32",
                site: "train.py:88", label: "ddp.gradients", isAsync: true))))
        }
        for rank in 0..<4 { model.apply(Event(rank: rank, ts: start + 45, .heartbeat)) }
        return model
    }

    @Test func aRunStalledInACollectiveSaysWhereAndWhoIsMissing() throws {
        let text = Fixtures.render(Self.stalledInGradients, now: Self.start + 45.5, width: 120, height: 40).text()
        #expect(text.contains("STALLED 30s at step 30"))
        #expect(text.contains("all_reduce #812 ddp.gradients  3/4 arrived"))
        #expect(text.contains("missing 1: 3"))
        #expect(text.contains("all_reduce #812 ddp.gradients 30s"), "the ranks table's WHERE")
        try Golden.check(text, named: "collective-stall-120x40")
    }

    @Test func aMismatchIsShownAsLoudlyAsABarrierNameMismatch() {
        var model = Self.stalledInGradients
        model.apply(Event(rank: 3, ts: Self.start + 46, .collectiveEnter(CollectiveEnter(group: "world", n: 812, op: "all_gather", size: 4))))
        let text = Fixtures.render(model, now: Self.start + 46.5, width: 200, height: 50).text()
        #expect(text.contains("⚠ MISMATCH collective #812: all_reduce (0-2) vs"))
        #expect(text.contains("1 MISMATCH"), "in the panel's title too")
    }
}
