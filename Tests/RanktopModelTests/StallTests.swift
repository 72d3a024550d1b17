import RanktopReport
import Testing
@testable import RanktopModel
import RanktopProtocol

/// Stalled is not stale: heartbeats prove a rank alive, not progressing.
@Suite struct StallTests {
    /// Two ranks stepping every `step` seconds for `steps` steps, heartbeats after.
    private func steadyRun(step: Double, steps: Int = 20) -> Script {
        var s = Script()
        s.hello(0..<2, world: 2)
        for n in 1...steps {
            s.at(step)
            for r in 0..<2 { s.emit(r, .progress(Progress(step: n))) }
        }
        return s
    }

    private func heartbeats(_ s: inout Script, for seconds: Double) {
        var left = seconds
        while left > 0 {
            s.at(min(2, left))
            left -= 2
            for r in 0..<2 { s.emit(r, .heartbeat) }
        }
    }

    @Test func aRunOfFastStepsIsStalledOnceTheFloorPasses() {
        var s = steadyRun(step: 0.03)
        heartbeats(&s, for: 9)
        #expect(RunSnapshot(model: Fixtures.model(s.events), now: s.t).stall == nil)
        heartbeats(&s, for: 2)
        let snapshot = RunSnapshot(model: Fixtures.model(s.events), now: s.t)
        #expect(snapshot.stalled == [0, 1])
        #expect(snapshot.stall?.step == 20)
        // Alive: heartbeats kept both ranks fresh, so neither is stale.
        #expect(snapshot.count(.stale) == 0)
    }

    @Test func aRunOfSlowStepsIsNotStalledByOneSlowStep() {
        var s = steadyRun(step: 30, steps: 6)
        heartbeats(&s, for: 120)
        #expect(RunSnapshot(model: Fixtures.model(s.events), now: s.t).stall == nil)
        heartbeats(&s, for: 200)
        #expect(RunSnapshot(model: Fixtures.model(s.events), now: s.t).stall != nil)
    }

    @Test func aFixedThresholdReplacesTheRule() {
        var s = steadyRun(step: 30, steps: 6)
        heartbeats(&s, for: 20)
        let policy = StallPolicy(fixed: 15)
        #expect(RunSnapshot(model: Fixtures.model(s.events), now: s.t, stallPolicy: policy).stall != nil)
        #expect(policy.threshold(typicalStep: 30) == 15)
        #expect(StallPolicy.standard.threshold(typicalStep: 30) == 300)
        #expect(StallPolicy.standard.threshold(typicalStep: 0.03) == 10)
        #expect(StallPolicy.standard.threshold(typicalStep: nil) == 10)
    }

    @Test func oneRankProgressingKeepsTheRunFromBeingStalled() {
        var s = steadyRun(step: 0.1)
        for n in 21...200 {
            s.at(0.1)
            s.emit(0, .progress(Progress(step: n)))
            if n % 20 == 0 { s.emit(1, .heartbeat) }
        }
        let snapshot = RunSnapshot(model: Fixtures.model(s.events), now: s.t)
        #expect(snapshot.stalled == [1])
        #expect(snapshot.stall == nil)
        #expect(snapshot.diagnosis.contains { $0.contains("rank 1 stalled") })
    }

    @Test func collectivesThatCompleteAreProgressToo() {
        // An evaluation loop: no steps, but gathers keep completing.
        var s = steadyRun(step: 0.1)
        for n in 0..<300 {
            s.at(0.1)
            for r in 0..<2 { s.emit(r, .collectiveEnter(CollectiveEnter(group: "world", n: n, op: "all_gather", label: "gather_for_metrics"))) }
            for r in 0..<2 { s.emit(r, .collectiveExit(CollectiveExit(group: "world", n: n))) }
        }
        #expect(RunSnapshot(model: Fixtures.model(s.events), now: s.t).stalled.isEmpty)
    }

    @Test func aRankLoadingBeforeItsFirstStepIsNotStalled() {
        var s = Script()
        s.hello(0..<2, world: 2)
        heartbeats(&s, for: 60)
        #expect(RunSnapshot(model: Fixtures.model(s.events), now: s.t).stalled.isEmpty)
    }

    @Test func beforeTheFirstStepAWaitAndItsCulpritAreStalled() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, .collectiveEnter(CollectiveEnter(group: "world", n: 0, op: "broadcast", label: "ddp.init")))
        heartbeats(&s, for: 12)
        let snapshot = RunSnapshot(model: Fixtures.model(s.events), now: s.t)
        #expect(snapshot.stalled == [0, 1])
        #expect(snapshot.stall != nil)
    }

    @Test func aCleanRunIsNeverStalled() throws {
        var s = steadyRun(step: 0.05)
        for r in 0..<2 { s.emit(r, .bye(code: 0, error: nil)) }
        s.at(100)
        let report = RunReport(model: Fixtures.model(s.events))
        #expect(report.stall == nil)
        #expect(report.ranks.allSatisfy { !$0.stalled })
        #expect(report.json["stall"] == .null)
    }

    @Test func theDiagnosisOfAStalledRunNeverSaysNoHangFound() {
        var s = steadyRun(step: 0.05)
        heartbeats(&s, for: 30)
        let lines = RunReport(model: Fixtures.model(s.events)).diagnosis
        #expect(lines.first?.hasPrefix("run stalled") == true)
        #expect(lines.first?.contains("no rank is in a barrier or collective") == true)
        #expect(!lines.contains { $0.contains("no hang found") })
    }

    @Test func aRankWithAnAsyncOpInFlightForTooLongIsStalledBeforeItsFirstStep() {
        // Blocked in work.wait() of an async all-reduce whose peer never comes.
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, .collectiveEnter(CollectiveEnter(group: "world", n: 1, op: "all_reduce", isAsync: true)))
        heartbeats(&s, for: 12)
        let snapshot = RunSnapshot(model: Fixtures.model(s.events), now: s.t)
        #expect(snapshot.stalled == [0, 1])
        #expect(snapshot.stall != nil)
    }
}
