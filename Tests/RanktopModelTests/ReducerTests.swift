import RanktopReport
import Testing
@testable import RanktopModel
import RanktopProtocol

@Suite struct ReducerTests {
    /// Events from different ranks may arrive in any order; each rank's own order is kept. The
    /// derived state must not depend on the interleaving.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func interleavingAcrossRanksDoesNotChangeTheOutcome(seed: UInt64) throws {
        let events = try Fixtures.events("clean") + []
        var rng = SplitMix64(seed: seed)
        var queues = Dictionary(grouping: events, by: \.rank)
        var shuffled: [Event] = []
        while !queues.isEmpty {
            let rank = queues.keys.sorted().randomElement(using: &rng)!
            shuffled.append(queues[rank]!.removeFirst())
            if queues[rank]!.isEmpty { queues[rank] = nil }
        }
        let a = RunReport(model: Fixtures.model(events))
        let b = RunReport(model: Fixtures.model(shuffled))
        #expect(b.json["ranks"] == a.json["ranks"])
        #expect(b.openBarriers.isEmpty)
        #expect(b.completedBarriers == a.completedBarriers)
        #expect(b.json["stragglers"] == a.json["stragglers"])
        #expect(b.json["phases"] == a.json["phases"])
    }

    @Test func aBarrierExitSeenBeforeEveryEnterStillCompletesTheBarrier() {
        var s = Script()
        s.hello(0..<3, world: 3)
        s.emit(0, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        // Rank 1's enter was dropped; its exit arrives first, then rank 2's events.
        s.emit(1, .barrierExit(n: 0), seqOverride: 2)
        s.emit(0, .barrierExit(n: 0))
        s.emit(2, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.emit(2, .barrierExit(n: 0))
        let model = Fixtures.model(s.events)
        #expect(model.openBarriers.isEmpty)
        #expect(model.completedBarrierCount == 1)
        #expect(model.rank(1)?.dropped == 1)
        #expect(model.ranks.allSatisfy { $0.status == .running })
    }

    @Test func anExitMeansEveryoneArrivedSoNobodyIsMissing() {
        var s = Script()
        s.hello(0..<3, world: 3)
        s.emit(0, .barrierEnter(BarrierEnter(n: 0)))
        s.emit(0, .barrierExit(n: 0))
        let model = Fixtures.model(s.events)
        #expect(model.openBarriers[0]?.missingRanks(world: 3) == [])
    }

    @Test func enteringALaterBarrierLeavesTheEarlierOneEvenIfItsExitWasDropped() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for r in 0..<2 { s.emit(r, .barrierEnter(BarrierEnter(n: 0))) }
        s.emit(0, .barrierExit(n: 0))
        s.at(1)
        s.emit(1, .barrierEnter(BarrierEnter(n: 1)), seqOverride: 3)  // exit 0 of rank 1 lost
        let model = Fixtures.model(s.events)
        #expect(model.openBarriers[0] == nil)
        #expect(model.openBarriers[1]?.arrivedRanks == [1])
        #expect(model.rank(1)?.barrier?.n == 1)
        #expect(model.rank(1)?.dropped == 1)
    }

    @Test func progressAfterABarrierWhoseExitWasDroppedLeavesIt() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for r in 0..<2 { s.emit(r, .barrierEnter(BarrierEnter(n: 0))) }
        s.emit(0, .barrierExit(n: 0))
        s.emit(1, .progress(Progress(step: 1)))
        let model = Fixtures.model(s.events)
        #expect(model.rank(1)?.status == .running)
        #expect(model.openBarriers.isEmpty)
    }

    @Test func seqGapsAndDroppedEventsCountWithoutDoubleCounting() {
        var s = Script()
        s.hello(0..<1, world: 1)
        s.emit(0, .progress(Progress(step: 1)))            // seq 1
        s.emit(0, .progress(Progress(step: 2)), seqOverride: 5)  // 2, 3, 4 lost
        // A collector that saw the same gap reports it too; the larger account wins.
        s.events.append(Event(rank: 0, ts: s.t, .dropped(count: 3)))
        var model = Fixtures.model(s.events)
        #expect(model.rank(0)?.dropped == 3)
        model.apply(Event(rank: 0, ts: s.t, .dropped(count: 4)))
        #expect(model.rank(0)?.dropped == 7)
    }

    @Test func aRankThatRestartsWithANewHelloCountsARestartAndStartsOver() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for r in 0..<2 { s.emit(r, .progress(Progress(step: 10))) }
        s.emit(0, .barrierEnter(BarrierEnter(n: 0)))
        s.emit(1, .bye(code: 1, error: "killed"))
        s.at(5)
        s.hello(0..<2, world: 2, pid: 500, restart: 1)
        s.emit(1, .barrierEnter(BarrierEnter(n: 0)))
        let model = Fixtures.model(s.events)
        #expect(model.rank(0)?.restarts == 1)
        #expect(model.rank(1)?.restarts == 1)
        #expect(model.rank(1)?.status == .waiting)
        #expect(model.rank(1)?.error == nil)
        #expect(model.rank(0)?.status == .running, "its old barrier belonged to the dead attempt")
        #expect(model.openBarriers[0]?.arrivedRanks == [1])
        #expect(model.generation == 1)
    }

    @Test func aHelloAfterReconnectingIsNotARestart() {
        var s = Script()
        s.hello(0..<1, world: 1)
        s.emit(0, .progress(Progress(step: 1)))
        s.events.append(Event(rank: 0, ts: s.t, .lost(reason: "collector restarted")))
        let resent = s.events[0]  // same pid, same hello, seq 0
        s.events.append(resent)
        s.emit(0, .progress(Progress(step: 5)), seqOverride: 6)
        let model = Fixtures.model(s.events)
        #expect(model.rank(0)?.restarts == 0)
        #expect(model.rank(0)?.status == .running)
        #expect(model.rank(0)?.dropped == 4, "seq 2...5 were sent while nobody listened")
    }

    @Test func mainFirstPhasesSplitIntoTheMainPartAndTheOthersPart() {
        var s = Script()
        s.hello(0..<3, world: 3)
        for r in 0..<3 { s.emit(r, .phaseEnter(PhaseEnter(name: "tokenize", mode: .mainFirst, main: r == 0))) }
        for r in 1..<3 { s.emit(r, .barrierEnter(BarrierEnter(n: 0))) }
        var mid = Fixtures.model(s.events)
        #expect(mid.rank(0)?.phase?.part == .main)
        #expect(mid.rank(1)?.phase?.part == .waitingForMain)
        s.at(12)
        s.emit(0, .barrierEnter(BarrierEnter(n: 0)))
        for r in 0..<3 { s.emit(r, .barrierExit(n: 0)) }
        s.emit(0, .phaseExit(name: "tokenize"))
        mid = Fixtures.model(s.events)
        #expect(mid.rank(1)?.phase?.part == .others)
        s.at(3)
        s.emit(1, .phaseExit(name: "tokenize"))
        s.at(1)
        s.emit(2, .phaseExit(name: "tokenize"))
        let model = Fixtures.model(s.events)
        #expect(model.phases.count == 1)
        #expect(model.phases[0].mainSeconds == 12)
        #expect(model.phases[0].othersSeconds == 4)
        #expect(model.phases[0].isComplete)
        #expect(model.stragglerStats.isEmpty, "the main rank arriving last is the phase's design")
    }

    @Test func triggerCausesFindTheirCheckWhateverOrderRanksArriveIn() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for r in 0..<2 { s.emit(r, .triggerCheck(n: 0, fired: false)) }
        // Rank 1's firing check arrives before rank 0's set of the same check.
        s.emit(1, .triggerCheck(n: 1, fired: true))
        s.emit(0, .triggerSet(TriggerSet(source: .code, reason: "nan loss")))
        s.emit(0, .triggerCheck(n: 1, fired: true))
        let model = Fixtures.model(s.events)
        #expect(model.firings.count == 1)
        #expect(model.firings[0].check == 1)
        #expect(model.firings[0].causes.map(\.rank) == [0])
        #expect(model.firings[0].ranksFired == 2)
        #expect(model.pendingCauses.isEmpty)
    }

    @Test func anInjectionIsPendingUntilARankAppliesIt() {
        var model = RunModel()
        model.apply(Event(rank: -1, ts: 1, .inject(Injection(id: "i1", reason: "stop", by: "bob@h"))))
        #expect(model.pendingInjections.map(\.id) == ["i1"])
        model.apply(Event(rank: -1, ts: 1, .inject(Injection(id: "i1", reason: "stop", by: "bob@h"))))
        #expect(model.injections.count == 1, "the same id twice is one injection")
        model.apply(Event(rank: 0, ts: 2, .triggerSet(TriggerSet(source: .manual, reason: "stop", id: "i1"))))
        #expect(model.pendingInjections.isEmpty)
    }

    @Test func aRankNeverHeardFromIsMissingAndSilent() {
        var s = Script()
        s.hello(0..<3, world: 4)
        for r in 0..<3 { s.emit(r, .barrierEnter(BarrierEnter(n: 0))) }
        let report = RunReport(model: Fixtures.model(s.events))
        #expect(report.silentRanks == [3])
        #expect(report.openBarriers.first?.missing == [3])
        #expect(report.diagnosis.first?.contains("missing rank 3, never reported") == true)
    }

    /// A week of barriers, phases and checks must not grow the model.
    @Test func memoryStaysBoundedOverAVeryLongRun() {
        var model = RunModel(limits: .live)
        var seq = [Int](repeating: 1, count: 4)
        var t = 0.0
        func emit(_ r: Int, _ body: EventBody) {
            model.apply(Event(rank: r, ts: t, seq: seq[r], body))
            seq[r] += 1
        }
        for r in 0..<4 { model.apply(Event(rank: r, ts: 0, seq: 0, .hello(Hello(run: "long", world: 4, localRank: r, localWorld: 4, node: "n", pid: r, runtime: "t")))) }
        for i in 0..<20_000 {
            t += 1
            for r in 0..<4 { emit(r, .phaseEnter(PhaseEnter(name: "epoch", mode: .mainFirst, main: r == 0))) }
            for r in 0..<4 { emit(r, .barrierEnter(BarrierEnter(n: i, name: "b"))) }
            for r in 0..<4 { emit(r, .barrierExit(n: i)) }
            for r in 0..<4 { emit(r, .phaseExit(name: "epoch")) }
            for r in 0..<4 { emit(r, .progress(Progress(step: i))) }
            for r in 0..<4 { emit(r, .triggerCheck(n: i, fired: i % 10 == 0)) }
        }
        #expect(model.openBarriers.isEmpty)
        #expect(model.completedBarrierCount == 20_000)
        #expect(model.completedBarriers.count <= model.limits.completedBarriers)
        #expect(model.phases.count <= model.limits.phases + 64)
        #expect(model.phasesFolded > 0)
        #expect(model.firings.count <= model.limits.firings)
        #expect(model.firingsFolded == 2000 - model.firings.count)
        #expect(model.pendingCauses.isEmpty)
        #expect(model.ranks.allSatisfy { $0.recentEvents.count <= 32 && $0.recentWaits.count <= 32 })
        #expect(model.recentEvents.count <= 256)
    }
}


@Suite struct HostileValuesTests {
    /// Found by the fuzzer: values at the edge of Int and Double must not trap the reducer or the report.
    @Test func extremeTimestampsSequencesAndCountsNeverTrap() {
        var model = RunModel()
        model.apply(Event(rank: 0, ts: 1e300, seq: Int.max, .progress(Progress(step: Int.max))))
        model.apply(Event(rank: 0, ts: -1e300, seq: 0, .dropped(count: Int.max)))
        model.apply(Event(rank: 0, ts: 0, .dropped(count: Int.max)))
        model.apply(Event(rank: 0, ts: 5, seq: Int.max, .triggerCheck(n: Int.max, fired: true)))
        model.apply(Event(rank: 0, ts: 6, .triggerSet(TriggerSet(source: .code))))
        let report = RunReport(model: model)
        #expect(report.ranks[0].dropped == Int.max)
        #expect(report.text.contains("rank 0") && report.text.contains("events were lost"), "\(report.text)")
        #expect(Format.duration(1e300) == "370370d08h")
        #expect(Format.utc(1e300) == "9999-12-31 23:59:59Z")
    }
}

@Suite struct BarrierSettlingTests {
    @Test func aRankThatNeverReportsDoesNotHoldABarrierOpenOnceEveryoneElseLeft() {
        var s = Script()
        s.hello(0..<3, world: 4)  // rank 3 runs uninstrumented
        for r in 0..<3 { s.emit(r, .barrierEnter(BarrierEnter(n: 0, name: "save"))) }
        for r in 0..<3 { s.emit(r, .barrierExit(n: 0)) }
        let model = Fixtures.model(s.events)
        #expect(model.openBarriers.isEmpty)
        #expect(model.completedBarrierCount == 1)
    }

    @Test func aRankThatDiesAfterTheBarrierReleasedDoesNotHoldItOpen() {
        var s = Script()
        s.hello(0..<3, world: 3)
        for r in 0..<3 { s.emit(r, .barrierEnter(BarrierEnter(n: 0))) }
        for r in 0..<2 { s.emit(r, .barrierExit(n: 0)) }
        var model = Fixtures.model(s.events)
        #expect(model.openBarriers[0] != nil, "rank 2 may still be on its way out")
        model.apply(Event(rank: 2, ts: s.t + 1, .lost(reason: "killed")))
        #expect(model.openBarriers.isEmpty)
    }

    @Test func withoutAnyExitAMissingDeadRankStillHoldsTheBarrier() {
        var s = Script()
        s.hello(0..<3, world: 3)
        for r in 0..<2 { s.emit(r, .barrierEnter(BarrierEnter(n: 0))) }
        s.emit(2, .bye(code: 1, error: "boom"))
        let model = Fixtures.model(s.events)
        #expect(model.openBarriers[0]?.missingRanks(world: 3) == [2])
    }

    @Test func mismatchesStayReportedAfterTheBarrierCompletes() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.emit(1, .barrierEnter(BarrierEnter(n: 0, name: "eval")))
        #expect(Fixtures.model(s.events).mismatches[0] == ["save": [0], "eval": [1]])
        for r in 0..<2 { s.emit(r, .barrierExit(n: 0)) }
        let model = Fixtures.model(s.events)
        #expect(model.openBarriers.isEmpty)
        #expect(model.mismatches[0] == ["save": [0], "eval": [1]])
    }

    @Test func heartbeatsDoNotCrowdOutRecentEvents() {
        var model = RunModel(limits: .live)
        model.apply(Event(rank: 0, ts: 0, .progress(Progress(step: 1))))
        for i in 0..<1000 { model.apply(Event(rank: 0, ts: Double(i), .heartbeat)) }
        #expect(model.recentEvents.map(\.kind) == [.progress])
        #expect(model.rank(0)?.recentEvents.map(\.kind) == [.progress])
    }
}
