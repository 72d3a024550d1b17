import Testing
@testable import RanktopModel
import RanktopProtocol

/// `StallPolicy.stallOnset` is `RunSnapshot`'s stall rule solved for the moment: a snapshot at
/// any `now` calls a rank stalled exactly when its onset is before `now`.
@Suite struct StallOnsetTests {
    /// Whether each alive rank's onset agrees with the snapshot at moments around it.
    private func agrees(_ s: Script, policy: StallPolicy = .standard, sourceLocation: SourceLocation = #_sourceLocation) {
        let model = Fixtures.model(s.events)
        for rank in 0..<model.world {
            guard let info = model.rank(rank) else { continue }
            let awaited = model.awaitedSince(rank: rank) != nil
            let onset = policy.stallOnset(of: info, awaited: awaited)
            for dt in [0.5, 5, 9.9, 10.1, 30, 400] {
                let now = s.t + dt
                let snapshot = RunSnapshot(model: model, now: now, stallPolicy: policy)
                #expect(snapshot.isStalled(rank) == (onset.map { $0 < now } ?? false), "rank \(rank) at +\(dt)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func aSteppingRankStallsAtItsLastStepPlusTheThreshold() throws {
        var s = Script()
        s.hello(0..<2, world: 2)
        for n in 1...10 {
            s.at(2)
            for r in 0..<2 { s.emit(r, .progress(Progress(step: n))) }
        }
        let last = s.t
        s.at(1)
        s.emit(1, .heartbeat)
        let model = Fixtures.model(s.events)
        let info = try #require(model.rank(0))
        // Steps of 2 s: ten of them is 20 s, above the 10 s floor.
        #expect(StallPolicy.standard.stallOnset(of: info, awaited: false) == last + 20)
        #expect(StallPolicy(fixed: 3).stallOnset(of: info, awaited: false) == last + 3)
        agrees(s)
        agrees(s, policy: StallPolicy(fixed: 3))
    }

    @Test func beforeItsFirstStepARankStallsOnlyOnceItWaitsOrIsWaitedFor() throws {
        var s = Script()
        s.hello(0..<3, world: 3)
        s.at(1)
        // Ranks 0 and 1 wait in a barrier; rank 2 is still loading.
        s.emit(0, .barrierEnter(BarrierEnter(n: 0)))
        s.at(1)
        s.emit(1, .barrierEnter(BarrierEnter(n: 0)))
        let model = Fixtures.model(s.events)
        let loading = try #require(model.rank(2))
        #expect(StallPolicy.standard.stallOnset(of: loading, awaited: false) == nil)
        #expect(model.awaitedSince(rank: 2) == 1001)
        #expect(model.awaitedSince(rank: 0) == nil)
        #expect(StallPolicy.standard.stallOnset(of: loading, awaited: true) == 1010)
        #expect(StallPolicy.standard.stallOnset(of: try #require(model.rank(0)), awaited: false) == 1010)
        agrees(s)
    }

    @Test func anEndedRankNeverStalls() throws {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.at(1)
        s.emit(0, .progress(Progress(step: 1)))
        s.emit(1, .progress(Progress(step: 1)))
        s.at(1)
        s.emit(0, .bye(code: 0, error: nil))
        s.emit(1, .lost(reason: "gone"))
        let model = Fixtures.model(s.events)
        for rank in 0..<2 {
            #expect(StallPolicy.standard.stallOnset(of: try #require(model.rank(rank)), awaited: true) == nil)
        }
        agrees(s)
    }
}
