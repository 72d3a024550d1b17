import RanktopReport
import RanktopModel
import RanktopProtocol
import Testing

/// Issue 9, item 1: the diagnosis is derived (grouped, root cause first), not listed.
@Suite struct DiagnosisAtScaleTests {
    private let t0 = 1_764_374_400.0

    private func hello(_ rank: Int, world: Int) -> Event {
        Event(rank: rank, ts: t0, seq: 0, .hello(Hello(run: "r", world: world, localRank: rank % 8, localWorld: 8, node: "node-\(rank / 8)", pid: 100 + rank, runtime: "x")))
    }

    @Test func test_4096LostRanksAreOneLineOfRanges() {
        var model = RunModel()
        for r in 0..<4096 { model.apply(hello(r, world: 4096)) }
        for r in 0..<4096 { model.apply(Event(rank: r, ts: t0 + 10, seq: 1, .progress(Progress(step: 20)))) }
        for r in 0..<4095 { model.apply(Event(rank: r, ts: t0 + 20, .lost(reason: "connection closed without bye"))) }
        let report = RunReport(model: model)
        #expect(report.diagnosis.count <= 3, "\(report.diagnosis)")
        #expect(report.diagnosis.first == "ranks 0-4094 (node-0..node-511, 512 nodes) lost at step 20, last seen at the end of the log: connection closed without bye")
        // The RANKS section collapses the same way; --ranks all lists every one.
        func rankRows(_ text: String) -> [Substring] {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            guard let start = lines.firstIndex(of: "RANKS") else { return [] }
            return Array(lines[(start + 2)...].prefix { !$0.isEmpty })
        }
        #expect(rankRows(report.text).count == 2, "\(rankRows(report.text))")
        #expect(rankRows(report.text).first?.hasPrefix("  0-4094  node-0..node-511  lost") == true, "\(rankRows(report.text))")
        var every = report
        every.listEveryRank = true
        #expect(rankRows(every.text).count == 4096)
    }

    @Test func test_theCulpritComesBeforeTheRanksStoppedAfterIt() {
        var model = RunModel()
        for r in 0..<4 { model.apply(hello(r, world: 4)) }
        model.apply(Event(rank: 0, ts: t0 + 1, seq: 1, .barrierEnter(BarrierEnter(n: 0, name: "save"))))
        // Rank 1 is killed; the launcher then takes the others down with SIGTERM.
        model.apply(Event(rank: 1, ts: t0 + 5, .lost(reason: "connection closed without bye")))
        for r in [3, 2, 0] { model.apply(Event(rank: r, ts: t0 + 11, .bye(code: 143, error: "terminated by SIGTERM"))) }
        let diagnosis = RunReport(model: model).diagnosis
        #expect(diagnosis.first?.hasPrefix("rank 1 (node-0) lost") == true, "\(diagnosis)")
        #expect(diagnosis.contains { $0.hasPrefix("ranks 0, 2-3 (node-0) failed: terminated by SIGTERM (exit code 143)") }, "\(diagnosis)")
    }

    @Test func test_ranksSayingTheSameAboutDifferentNumbersAreOneGroup() {
        var model = RunModel()
        for r in 0..<300 { model.apply(hello(r, world: 300)) }
        for r in 1..<300 {
            model.apply(Event(rank: r, ts: t0 + 3, .bye(code: 1, error: "rendezvous store at 127.0.0.1:\(29_000 + r) went away")))
        }
        let diagnosis = RunReport(model: model).diagnosis
        #expect(diagnosis.first == "ranks 1-299 (node-0..node-37, 38 nodes) failed: rendezvous store at N.N.N.N:N went away (exit code 1)", "\(diagnosis)")
    }

    @Test func test_theSnapshotTellsTheSameAsTheReport() {
        var model = RunModel()
        for r in 0..<8 { model.apply(hello(r, world: 8)) }
        for r in 0..<7 { model.apply(Event(rank: r, ts: t0 + 2, seq: 1, .barrierEnter(BarrierEnter(n: 0)))) }
        let snapshot = RunSnapshot(model: model, now: model.lastTs ?? 0)
        #expect(snapshot.openWaits.first?.missing == [7])
        #expect(snapshot.diagnosis == RunReport(model: model).diagnosis)
        #expect(snapshot.condition(of: 7) == .running && snapshot.condition(of: 0) == .waiting)
    }
}
