import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

/// C.15: what the rank detail and the footer say about a `d` stack request must agree, and
/// neither may promise an answer that cannot come.
@Suite struct StackRequestTests {
    let now = SyntheticRun.eight.now
    /// The eight-rank run, with rank 2 exited (rank 7 is lost in it already).
    let model: RunModel = {
        var model = Fixtures.eight
        model.apply(Event(rank: 2, ts: SyntheticRun.eight.now - 1, .bye(code: 0, error: nil)))
        return model
    }()

    func screen(_ d: inout Dashboard, at time: Double? = nil, wall: Double? = nil) -> String {
        d.render(model: model, now: time ?? now, size: Size(width: 120, height: 40), wall: wall ?? time ?? now).text()
    }

    /// The detail of `rank`, opened from the ranks table.
    func detail(of rank: Int) -> Dashboard {
        var d = Fixtures.dashboard()
        _ = screen(&d)
        for _ in 0..<rank { _ = d.handle(.key(.down), model: model, now: now) }
        _ = d.handle(.key(.enter), model: model, now: now)
        #expect(d.overlay == .detail(rank: rank))
        return d
    }

    @Test func test_C15_aRequestThatFailed_isShownAsFailedInThePanel_notAsWaiting() {
        var d = detail(of: 0)
        #expect(d.handle(.key(.char("d")), model: model, now: now) == .requestStack(rank: 0))
        #expect(screen(&d).contains("waiting for the rank's answer"))
        d.noteStackFailed(rank: 0, reason: "rank 0 is not connected", wall: now)
        let shown = screen(&d)
        #expect(shown.contains("the request failed: rank 0 is not connected"), "\(shown)")
        #expect(!shown.contains("waiting for the rank's answer"))
        #expect(d.status?.text == "could not ask rank 0 for its stack: rank 0 is not connected")
    }

    @Test(arguments: [(2, "it has exited and is gone"), (7, "it is lost")])
    func test_C15_anEndedRankIsNotAsked_andTheFooterSaysWhy(rank: Int, why: String) {
        var d = detail(of: rank)
        #expect(d.handle(.key(.char("d")), model: model, now: now) == .redraw, "no request goes out")
        #expect(d.status?.text.hasPrefix("rank \(rank) not asked for its stack: \(why)") == true, "\(String(describing: d.status))")
        #expect(d.stackRequests[rank] == nil)
        #expect(!screen(&d).contains("waiting for the rank's answer"))
    }

    @Test func test_C15_aRequestWithNoAnswer_expires() {
        var d = detail(of: 0)
        _ = d.handle(.key(.char("d")), model: model, now: now)
        #expect(screen(&d, at: now + 9).contains("waiting for the rank's answer"))
        let later = screen(&d, at: now + StackRequest.answerTimeout + 2)
        #expect(later.contains("no answer after 12"), "\(later)")
        #expect(!later.contains("waiting for the rank's answer"))
    }

    @Test func test_C15_footerMessagesClearWhenTheSelectionChanges_andExpire() {
        var d = detail(of: 0)
        d.noteStackFailed(rank: 0, reason: "rank 0 is not connected", wall: now)
        #expect(screen(&d).contains("could not ask rank 0"))
        #expect(d.handle(.key(.down), model: model, now: now) == .redraw)
        #expect(d.overlay == .detail(rank: 1))
        #expect(d.status == nil)
        #expect(!screen(&d).contains("could not ask rank 0"))

        d.noteStackFailed(rank: 1, reason: "rank 1 is not connected", wall: now)
        #expect(screen(&d, wall: now + 3).contains("could not ask rank 1"))
        #expect(!screen(&d, wall: now + 7).contains("could not ask rank 1"), "footer messages expire")
    }
}
