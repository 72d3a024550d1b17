import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

@Suite struct DigestTests {
    @Test func test_ranksNeverHeardFromAreSilent_quietOnesStale() {
        var model = RunModel(limits: .live)
        let t0 = SyntheticRun.t0
        model.apply(Fixtures.hello(0, world: 4, ts: t0))
        model.apply(Fixtures.hello(1, world: 4, ts: t0))
        model.apply(Event(rank: 1, ts: t0 + 10, .heartbeat))
        let digest = RunSnapshot(model: model, now: t0 + 11, staleAfter: 6)
        #expect(digest.conditions == [.stale, .running, .silent, .silent])
        #expect(digest.count(.silent) == 2)
    }

    @Test func test_stepSpreadAndLag() {
        let digest = RunSnapshot(model: Fixtures.eight, now: SyntheticRun.eight.now, staleAfter: 6)
        #expect(digest.stepMin == 42)
        #expect(digest.stepMax == 60)
        #expect(digest.stepMedian == 60)
        #expect(digest.lag(of: 5) == 2)
        #expect(digest.lag(of: 7) == 18)
    }

    @Test func test_filterTermsOfOneKindWiden_ofDifferentKindsNarrow() {
        let digest = RunSnapshot(model: Fixtures.eight, now: SyntheticRun.eight.now, staleAfter: 6)
        func matches(_ text: String) -> [Int] {
            RankSort.rank.order(model: Fixtures.eight, digest: digest, filter: RankFilter(text))
        }
        #expect(matches("lost stale") == [6, 7])
        #expect(matches("gpu-1") == [0, 1, 2, 3])
        #expect(matches("node:gpu-2 waiting") == [4])
        #expect(matches("0-2,6") == [0, 1, 2, 6])
        #expect(matches("") == Array(0..<8))
    }

    @Test func test_eventRateIsReadFromTheEventsTimestampsNotFromWhenTheyWereSeen() {
        var model = RunModel(limits: .live)
        // 100 events a second from t=100 to t=103, then 40 in the second after.
        for i in 0..<300 { model.apply(Event(rank: 0, ts: 100 + Double(i) / 100, .heartbeat)) }
        for i in 0..<40 { model.apply(Event(rank: 0, ts: 103 + Double(i) / 40, .heartbeat)) }
        #expect(model.eventsPerSecond(at: 103.5) == 100)
        #expect(model.eventsPerSecond(at: 104.2) == 70)
        #expect(model.eventsPerSecond(at: 107) == 0)
        // An event older than the seconds kept is not counted against a newer second.
        model.apply(Event(rank: 0, ts: 90, .heartbeat))
        #expect(model.eventsPerSecond(at: 104.2) == 70)
    }
}
