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

    @Test func test_eventRateOverTheLastSeconds() {
        var rate = EventRate(window: 2)
        rate.record(count: 0, at: 100)
        rate.record(count: 500, at: 101)
        rate.record(count: 1000, at: 102)
        #expect(rate.perSecond == 500)
        rate.record(count: 1000, at: 104)
        #expect(rate.perSecond == 0)
    }
}
