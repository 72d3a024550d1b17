import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

/// Ranks never heard from: filtering must not index the model's slots by them (a rank above every
/// rank heard has no slot at all, where the filter used to trap), and the grid must show them.
@Suite struct SilentRankTests {
    /// `world` ranks announced; every rank but `silent` said hello and then exited.
    func model(world: Int, silent: Int) -> RunModel {
        var model = RunModel(limits: .live)
        for r in 0..<world where r != silent {
            model.apply(Fixtures.hello(r, world: world, node: "gpu-\(r / 8)"))
            model.apply(Event(rank: r, ts: SyntheticRun.t0 + 1, .bye(code: 0, error: nil)))
        }
        return model
    }

    func filterByTyping(_ text: String, model: RunModel, width: Int, height: Int) -> (Dashboard, String) {
        var dashboard = Fixtures.dashboard()
        let now = SyntheticRun.t0 + 2
        _ = dashboard.render(model: model, now: now, size: Size(width: width, height: height))
        for key in [Key.char("/")] + text.map(Key.char) + [.enter] {
            _ = dashboard.handle(.key(key), model: model, now: now)
        }
        let screen = dashboard.render(model: model, now: now, size: Size(width: width, height: height)).text()
        return (dashboard, screen)
    }

    @Test func test_C12_filteringAModelWhoseLastRankIsSilent() {
        let model = model(world: 4, silent: 3)
        #expect(model.rankSlots.count == 3, "the silent rank is past the last slot")
        let digest = RunSnapshot(model: model, now: SyntheticRun.t0 + 2, staleAfter: 6)
        #expect(RankSort.rank.order(model: model, digest: digest, filter: RankFilter("exited")) == [0, 1, 2])
        #expect(RankSort.rank.order(model: model, digest: digest, filter: RankFilter("silent")) == [3])
        #expect(RankSort.rank.order(model: model, digest: digest, filter: RankFilter("gpu-0")) == [0, 1, 2])
        for sort in RankSort.allCases {
            #expect(Set(sort.order(model: model, digest: digest, filter: RankFilter("exited silent"))) == [0, 1, 2, 3])
        }

        let (_, screen) = filterByTyping("exited", model: model, width: 120, height: 40)
        #expect(screen.contains("filter exited (3 of 4)"), "\(screen)")
    }

    @Test func test_C12_filteringTheGridOf512RanksWithASilentLastRank() {
        let model = model(world: 512, silent: 511)
        #expect(model.rankSlots.count == 511)
        let digest = RunSnapshot(model: model, now: SyntheticRun.t0 + 2, staleAfter: 6)
        #expect(RankSort.state.order(model: model, digest: digest, filter: RankFilter("silent")) == [511])
        #expect(RankSort.rank.order(model: model, digest: digest, filter: RankFilter("exited")).count == 511)

        // 512 ranks do not fit a 100x30 table: the grid draws every cell through the filter.
        let (dashboard, screen) = filterByTyping("exited", model: model, width: 100, height: 30)
        #expect(dashboard.filter == RankFilter("exited"))
        #expect(screen.contains("silent 1"), "\(screen)")
    }

    @Test func test_C14_silentRanksHaveAGlyphInTheGridAndTheLegend() {
        let model = model(world: 512, silent: 511)
        let now = SyntheticRun.t0 + 2
        for (glyphs, mark) in [(Glyphs.unicode, "○"), (Glyphs.ascii, "o")] {
            var dashboard = Fixtures.dashboard(glyphs: glyphs)
            let screen = dashboard.render(model: model, now: now, size: Size(width: 100, height: 30)).text()
            #expect(screen.contains("\(mark) silent 1"), "\(screen)")
            // 32 cells a row: the last row is ranks 480-511, and 511, the silent one, is the mark.
            let lastRow = "480 " + String(repeating: String(glyphs.gridExited), count: 31) + mark
            #expect(screen.contains(lastRow), "\(screen)")
        }
    }
}
