import RanktopReport
import RanktopModel
import RanktopProtocol
import Testing

/// Issue 8, part A: logs a hostile or careless writer can produce, read without surprises.
@Suite struct HostileLogTests {
    private func hello(_ rank: Int, run: String, world: Int, pid: Int) -> Event {
        Event(rank: rank, ts: 1_764_374_400, seq: 0, .hello(Hello(run: run, world: world, localRank: rank, localWorld: world, node: "n", pid: pid, runtime: "x")))
    }

    @Test func test_aHugeAnnouncedWorldCostsOnlyTheRanksSeen() {
        var model = RunModel()
        model.apply(hello(0, run: "r", world: 1 << 20, pid: 1))
        model.apply(Event(rank: 0, ts: 1_764_374_401, seq: 1, .barrierEnter(BarrierEnter(n: 0))))
        let report = RunReport(model: model)
        #expect(report.silentRanks.ranges == [1...((1 << 20) - 1)])
        #expect(report.openBarriers.first?.missing.ranges == [1...((1 << 20) - 1)])
        #expect(report.openBarriers.first?.missing.count == (1 << 20) - 1)
        // The JSON still lists every missing rank, as the contract says.
        let missing = report.json["open_barriers"]?[0]?["missing"]
        #expect(missing?[0] == .int(1) && missing?[(1 << 20) - 2] == .int((1 << 20) - 1))
        #expect(report.text.contains("ranks 1-1048575 never reported"))
    }

    @Test func test_twoRunsInOneLogAreSaidNotSilentlyMixed() {
        var model = RunModel()
        model.apply(hello(0, run: "run-a", world: 1, pid: 10))
        model.apply(hello(0, run: "run-b", world: 1, pid: 20))
        #expect(model.otherRuns == ["run-b"])
        #expect(RunReport(model: model).diagnosis.contains { $0.contains("this log holds 2 runs") })
    }

    @Test func test_aCollectorsDiscardIsNotBlamedOnTheRanks() {
        var model = RunModel()
        model.apply(hello(0, run: "r", world: 1, pid: 1))
        model.apply(Event(rank: 0, ts: 1_764_374_401, seq: 1, .heartbeat))
        model.apply(Event(rank: -1, ts: 1_764_374_402, .discarded(count: 5000, reason: "No space left on device")))
        model.apply(Event(rank: 0, ts: 1_764_374_403, seq: 5002, .bye(code: 0, error: nil)))
        let report = RunReport(model: model)
        #expect(report.ranks.first?.dropped == 0)
        #expect(report.ranks.first?.status == .exited)
        #expect(report.collectorDiscarded == 5000)
        #expect(report.diagnosis.contains { $0.contains("the collector discarded 5000 events") && $0.contains("No space left") })
    }
}
