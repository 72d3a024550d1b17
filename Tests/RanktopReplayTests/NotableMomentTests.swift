import RanktopCollector
import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import Testing

/// The first pass marks what went wrong where the screen's own rules say it did.
@Suite struct NotableMomentTests {
    @Test func test_theEightRankRunsTroublesAreMarkedEachWhereItBegan() throws {
        let log = try ReplayLog()
        let timeline = try ReplayTimeline(path: log.path)
        timeline.runFirstPass()
        let moments = timeline.found.moments
        let kinds = Set(moments.map(\.kind))
        // The synthetic run: barrier #0 waits 19 s for rank 0, #2 is called by two names, a
        // trigger fires, rank 7 is lost, and #3 is still open at the end without ranks 5 and 7.
        #expect(kinds.isSuperset(of: [.straggler, .mismatch, .trigger, .loss, .hang]), "\(moments)")
        #expect(moments.map(\.time) == moments.map(\.time).sorted())
        let hang = try #require(moments.first { $0.kind == .hang })
        #expect(hang.text.contains("barrier #3"))
        #expect(hang.text.contains("missing 5, 7"))
        #expect(moments.contains { $0.kind == .loss && $0.text.contains("rank 7 lost") })
        #expect(moments.contains { $0.kind == .straggler && $0.text.contains("barrier #0") && $0.text.contains("rank 0 came last") })
    }

    /// A late wait is marked at the moment `RunSnapshot` first calls a rank inside it stalled:
    /// not when the next event happened to come, and by the one stall rule.
    @Test func test_aLateWaitIsMarkedWhenItsRanksBecameStalledNotWhenTheNextEventCame() throws {
        let log = try ReplayLog()
        let timeline = try ReplayTimeline(path: log.path)
        timeline.runFirstPass()
        for moment in timeline.found.moments where moment.kind == .hang || moment.kind == .straggler {
            let model = fold(log.prefix(upTo: moment.time))
            let stalledThen = RunSnapshot(model: model, now: moment.time).stalled
            let stalledBefore = RunSnapshot(model: model, now: moment.time - 0.1).stalled
            #expect(!stalledThen.isEmpty, "\(moment.text): nobody stalled at its moment")
            #expect(stalledBefore.count < stalledThen.count, "\(moment.text): already stalled 0.1 s before its moment")
        }
    }

    @Test func test_aFloodOfDropsIsOneMomentEveryTenSeconds() {
        var finder = NotableMomentFinder()
        var model = RunModel(limits: .live)
        for i in 0..<100 {
            let event = Event(rank: 0, ts: 1000 + Double(i) * 0.5, .dropped(count: 3))
            finder.willFold(event, model: model)
            model.apply(event)
            finder.observe(event, model: model)
        }
        #expect(finder.moments.filter { $0.kind == .loss }.count == 5)
    }

    func fold(_ events: ArraySlice<Event>) -> RunModel {
        var model = RunModel(limits: .live)
        for event in events { model.apply(event) }
        return model
    }
}
