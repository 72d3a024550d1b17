import RanktopReport
import Testing
@testable import RanktopModel
import RanktopProtocol

/// Straggler scores and the health line: each rank's typical step against the run's, and the
/// waiting it caused, computed from the ranks' own reports.
@Suite struct StragglerScoreTests {
    /// Four ranks stepping every second; rank 3 every 1.4 s. Per-rank clocks, so that each rank's
    /// steps are its own.
    func stragglingRun(steps: Int = 12) -> [Event] {
        var events: [Event] = []
        for r in 0..<4 {
            events.append(Event(rank: r, ts: 1000, seq: 0, .hello(Hello(run: "s", world: 4, localRank: r, localWorld: 4, node: "n\(r / 2)", pid: 10 + r, runtime: "t"))))
            let period = r == 3 ? 1.4 : 1.0
            for step in 1...steps {
                events.append(Event(rank: r, ts: 1000 + Double(step) * period, seq: step, .progress(Progress(step: step))))
            }
        }
        return events.sorted { $0.ts < $1.ts }
    }

    @Test func theSlowRankScoresItsExtraStepTimeAndTheHealthLineNamesIt() throws {
        let model = Fixtures.model(stragglingRun())
        let snapshot = RunSnapshot(model: model, now: model.lastTs!)
        let scores = snapshot.scores
        #expect(scores.map(\.rank) == [0, 1, 2, 3])
        let slow = try #require(scores[3].relativeStepTime)
        #expect(abs(slow - 1.4) < 0.01, "\(slow)")
        #expect(scores[0...2].allSatisfy { abs(($0.relativeStepTime ?? 0) - 1) < 0.01 })
        #expect(snapshot.health == .straggling(rank: 3, slower: slow - 1))
        #expect(snapshot.health.text == "straggling: rank 3 +40%")

        let report = RunReport(model: model)
        let json = report.json.serialized
        #expect(json.contains(#""scores":[{"rank":0,"relative_step_time":1"#), "\(json)")
        #expect(json.contains(#"{"rank":3,"relative_step_time":1.4"#), "\(json)")
        #expect(report.text.contains("health: straggling: rank 3 +40%"))
        #expect(report.text.contains("  rank 3: step time +40%"), "\(report.text)")
    }

    @Test func ranksThatStepAlikeAreHealthy_andTwoRanksStillShowTheSlowOne() {
        var even = stragglingRun().filter { $0.rank != 3 }
        even = even.map { event in
            guard case var .hello(hello) = event.body else { return event }
            hello.world = 3
            return Event(rank: event.rank, ts: event.ts, seq: event.seq, .hello(hello))
        }
        let model = Fixtures.model(even)
        #expect(RunSnapshot(model: model, now: model.lastTs!).health == .healthy)

        // With two ranks the run's median is the faster one's (the lower median): the slower
        // one is not measured against itself.
        let pair = stragglingRun().filter { $0.rank == 0 || $0.rank == 3 }
        let two = Fixtures.model(pair)
        let health = RunSnapshot(model: two, now: two.lastTs!).health
        #expect(health.text == "straggling: rank 3 +40%", "\(health)")
    }

    @Test func aStalledRunSaysWhichWaitHoldsItAndWhoIsMissing() {
        var s = Script()
        s.hello(0..<3, world: 3)
        s.at(1)
        s.emit(0, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.emit(1, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.at(60)
        for r in 0..<3 { s.emit(r, .heartbeat) }
        let model = Fixtures.model(s.events)
        let health = RunSnapshot(model: model, now: model.lastTs!).health
        #expect(health.text.hasPrefix("stalled "), "\(health)")
        #expect(health.text.hasSuffix(#": barrier #0 "save", missing 2"#), "\(health.text)")
    }

    /// Synchronous training: every step ends in an all-reduce, so every rank's step takes as long
    /// as rank 3's. Only the time it did not spend waiting shows which rank is slow.
    @Test func inLockstepTheStragglerIsTheOneThatDoesNotWait() throws {
        var events: [Event] = []
        for r in 0..<4 {
            events.append(Event(rank: r, ts: 1000, seq: 0, .hello(Hello(run: "s", world: 4, localRank: r, localWorld: 4, node: "n", pid: 10 + r, runtime: "t"))))
        }
        var seq = [Int](repeating: 1, count: 4)
        func emit(_ r: Int, _ ts: Double, _ body: EventBody) {
            events.append(Event(rank: r, ts: ts, seq: seq[r], body))
            seq[r] += 1
        }
        var t = 1000.0
        for step in 1...12 {
            // Work: 1.0 s on ranks 0-2, 1.5 s on rank 3; then the all-reduce ends for everyone
            // when rank 3 arrives.
            for r in 0..<4 { emit(r, t + (r == 3 ? 1.5 : 1.0), .progress(Progress(step: step))) }
            for r in 0..<4 { emit(r, t + (r == 3 ? 1.5 : 1.0), .collectiveEnter(CollectiveEnter(group: "world", n: step, op: "all_reduce"))) }
            for r in 0..<4 { emit(r, t + 1.5, .collectiveExit(CollectiveExit(group: "world", n: step))) }
            t += 1.5
        }
        let model = Fixtures.model(events.sorted { $0.ts < $1.ts })
        let intervals = (0..<4).compactMap { model.rank($0)?.typicalStepTime }
        #expect(intervals.allSatisfy { abs($0 - 1.5) < 0.01 }, "every step takes 1.5 s: \(intervals)")
        let snapshot = RunSnapshot(model: model, now: model.lastTs!)
        let slow = try #require(snapshot.scores[3].relativeStepTime)
        #expect(abs(slow - 1.5) < 0.01, "\(snapshot.scores)")
        #expect(snapshot.health.text == "straggling: rank 3 +50%")
    }
}
