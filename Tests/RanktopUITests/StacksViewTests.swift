import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

/// The `S` view: every rank asked at once, stacks grouped where identical, frames fitted to the
/// column with the function kept.
@Suite struct StacksViewTests {
    let now = SyntheticRun.eight.now
    static let venv = "/root/.cache/ranktop/venv/lib/python3.11/site-packages"

    /// Ranks 0-4 wait in Accelerate's barrier; rank 5 (the slow one) is in its data loader.
    static let waitingStack = [
        "/home/ana/llm/train.py:88 in <module>: main()",
        "/home/ana/llm/train.py:71 in main: accelerator.wait_for_everyone()",
        "\(venv)/accelerate/accelerator.py:2521 in wait_for_everyone: wait_for_everyone()",
        "\(venv)/accelerate/utils/other.py:164 in wait_for_everyone: PartialState().wait_for_everyone()",
        "\(venv)/torch/distributed/c10d_logger.py:81 in wrapper: return func(*args, **kwargs)",
        "\(venv)/torch/distributed/distributed_c10d.py:4159 in barrier: work.wait()",
    ]
    static let loaderStack = [
        "/home/ana/llm/train.py:88 in <module>: main()",
        "/home/ana/llm/train.py:64 in main: batch = next(loader)",
        "\(venv)/torch/utils/data/dataloader.py:701 in __next__: data = self._next_data()",
        "\(venv)/torch/utils/data/dataloader.py:1448 in _next_data: idx, data = self._get_data()",
        "/usr/lib/python3.11/threading.py:331 in wait: gotit = waiter.acquire(True, timeout)",
    ]

    /// The eight-rank run once ranks 0-5 answered; rank 6 (stale) has not, rank 7 is lost.
    func answered(_ model: RunModel) -> RunModel {
        var model = model
        for rank in 0...5 {
            let frames = rank == 5 ? StacksViewTests.loaderStack : StacksViewTests.waitingStack
            model.apply(Event(rank: rank, ts: now - 0.5, .stack(id: "stk-\(rank)", frames: frames)))
        }
        return model
    }

    /// S pressed at `now` on the eight-rank run.
    func pressS(_ d: inout Dashboard) -> DashboardAction {
        _ = d.render(model: Fixtures.eight, now: now, size: Size(width: 120, height: 40))
        return d.handle(.key(.char("S")), model: Fixtures.eight, now: now)
    }

    @Test func sAsksEveryRankThatCanAnswerAtOnce() {
        var d = Fixtures.dashboard()
        // Rank 7 is lost: nobody to ask.
        #expect(pressS(&d) == .requestStacks(ranks: Array(0...6)))
        guard case let .stacks(state)? = d.overlay else { Issue.record("no stacks view"); return }
        #expect(state.asked == RankSet(0...6))
        #expect(d.stackRequests.keys.sorted() == Array(0...6))
    }

    @Test func theViewGroupsIdenticalStacksAndSaysWhoHasNotAnswered_at120x40() throws {
        var d = Fixtures.dashboard()
        _ = pressS(&d)
        let text = d.render(model: answered(Fixtures.eight), now: now + 1, size: Size(width: 120, height: 40)).text()
        #expect(text.contains("ranks 0-4 (5 ranks)"))
        #expect(text.contains("rank 5 (1 rank)"))
        #expect(text.contains("waiting for rank 6"))
        #expect(text.contains("barrier (torch/distributed/distributed_c10d.py:4159)"))
        #expect(text.contains("▶ main (/home/ana/llm/train.py:64)"))
        try Golden.check(text, named: "stacks-120x40")
    }

    @Test func narrowColumnsCutFramesButKeepTheFunction_at80x24() throws {
        var d = Fixtures.dashboard()
        _ = pressS(&d)
        let text = d.render(model: answered(Fixtures.eight), now: now + StackRequest.answerTimeout + 1, size: Size(width: 80, height: 24)).text()
        #expect(text.contains("no answer from rank 6"))
        for function in ["barrier", "wrapper", "wait_for_everyone", "_next_data", "__next__"] {
            #expect(text.contains(" \(function)"), "\(function) cut off")
        }
        try Golden.check(text, named: "stacks-80x24")
    }

    @Test func inASCIIEveryCellIsASCIIAndTheUsersFramesAreStarred() {
        var d = Fixtures.dashboard(glyphs: .ascii)
        _ = pressS(&d)
        let text = d.render(model: answered(Fixtures.eight), now: now + 1, size: Size(width: 80, height: 24)).text()
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(text.contains("* main (/home/ana/llm/train.py:64)"))
        #expect(text.contains("  wait (threading.py:331)  gotit = ~"))
    }

    @Test func inAReplaySShowsTheStacksTheLogHoldsAndAsksNobody() {
        var d = Fixtures.dashboard(canControl: false)
        let model = answered(Fixtures.eight)
        _ = d.render(model: model, now: now, size: Size(width: 120, height: 40))
        #expect(d.handle(.key(.char("S")), model: model, now: now) == .redraw)
        let text = d.render(model: model, now: now, size: Size(width: 120, height: 40)).text()
        #expect(text.contains("the last stack of 6 ranks in the log"))
        #expect(text.contains("ranks 0-4 (5 ranks)"))
        #expect(!text.contains("S ask again"))
    }

    @Test func escapeAndQLeaveTheViewAndLeftRightMoveAcrossGroups() {
        var d = Fixtures.dashboard()
        _ = pressS(&d)
        let model = answered(Fixtures.eight)
        // At 80 columns two groups fit: there is nothing to the right.
        _ = d.render(model: model, now: now, size: Size(width: 80, height: 24))
        _ = d.handle(.key(.right), model: model, now: now)
        _ = d.render(model: model, now: now, size: Size(width: 80, height: 24))
        guard case let .stacks(state)? = d.overlay else { Issue.record("no stacks view"); return }
        #expect(state.firstGroup == 0)
        #expect(d.handle(.key(.escape), model: model, now: now) == .redraw)
        #expect(d.overlay == nil)
        _ = d.handle(.key(.char("S")), model: model, now: now)
        #expect(d.handle(.key(.char("q")), model: model, now: now) == .redraw)
        #expect(d.overlay == nil)
    }
}
