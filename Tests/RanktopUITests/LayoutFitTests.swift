import RanktopModel
@testable import RanktopUI
import Testing

/// The rules that make the screen fit its content: room shared by what each panel needs, and
/// cuts that keep the part of a line that tells it apart.
@Suite struct LayoutFitTests {
    @Test func whatFitsGetsItsNeedAndTheSpareGoesWhereAsked() {
        #expect(ContentSplit.share(100, needs: [30, 40], minimum: 10) == [45, 55])
        #expect(ContentSplit.share(100, needs: [30, 40], minimum: 10, spareTo: 1) == [30, 70])
        // Needs under the minimum are raised to it.
        #expect(ContentSplit.share(40, needs: [3, 3], minimum: 5, spareTo: 0) == [35, 5])
    }

    @Test func whenNotAllFitsTheSmallNeedsAreMetFirst() {
        // The triggers need 45 columns, the events 90: the triggers are not cut, the events take the rest.
        #expect(ContentSplit.share(120, needs: [45, 90], minimum: 30) == [45, 75])
        // Both need more than half: halves.
        #expect(ContentSplit.share(120, needs: [70, 90], minimum: 30) == [60, 60])
        #expect(ContentSplit.share(100, needs: [10, 80, 80], minimum: 5) == [10, 45, 45])
        // Too little for the minimum: equal shares, nothing lost.
        #expect(ContentSplit.share(9, needs: [10, 10], minimum: 5) == [4, 5])
        #expect(ContentSplit.share(123, needs: [200, 1, 50], minimum: 20).reduce(0, +) == 123)
    }

    @Test func aPathIsCutFromTheLeftAtADirectory() {
        #expect(Format.pathTail("/home/ada/runs/r-42.jsonl", width: 40) == "/home/ada/runs/r-42.jsonl")
        #expect(Format.pathTail("/home/ada/runs/r-42.jsonl", width: 18) == "…/runs/r-42.jsonl")
        #expect(Format.pathTail("ranktop/DemoTraining.swift:146", width: 26) == "…/DemoTraining.swift:146")
        // Even the name does not fit: the name, for the caller to cut at its end.
        #expect(Format.pathTail("ranktop/DemoTraining.swift:146", width: 10) == "…/DemoTraining.swift:146")
        #expect(Format.pathTail("no directory here", width: 5) == "no directory here")
    }

    @Test func aCutLineShortensItsPathBeforeCuttingItsEnd() {
        var line = StyledLine("enter #3 checkpoint at ", .plain)
        line.addPath("/srv/jobs/llm/train/loop.py:88", .plain)
        var canvas = Canvas(width: 40, height: 1)
        line.draw(into: &canvas, x: 0, y: 0, width: 40, ellipsis: "…")
        #expect(canvas.text() == "enter #3 checkpoint at …/loop.py:88")
        // Text after the path stays when the path gives the room.
        var withPhase = StyledLine("enter #3 at ", .plain)
        withPhase.addPath("/srv/jobs/llm/train/loop.py:88", .plain)
        withPhase.add(" in eval", .plain)
        var narrow = Canvas(width: 34, height: 1)
        withPhase.draw(into: &narrow, x: 0, y: 0, width: 34, ellipsis: "…")
        #expect(narrow.text() == "enter #3 at …/loop.py:88 in eval")
    }
}

extension LayoutFitTests {
    @Test func theWaitsColumnKeepsMoreWhenNothingFits() {
        // Three columns, all wanting more than a third: the waits (weight 4) get the most.
        #expect(ContentSplit.share(120, needs: [80, 80, 80], minimum: 30, weights: [4, 3, 3]) == [48, 36, 36])
        // A need that fits its weighted share is met, the others share the rest.
        #expect(ContentSplit.share(120, needs: [80, 30, 80], minimum: 30, weights: [4, 3, 3]) == [51, 30, 39])
    }
}

extension LayoutFitTests {
    @Test func aTracebackIsShownOnOneLine() {
        let error = "RuntimeError: CUDA error\nTraceback (most recent call last):\n  File \"train.py\", line 88\n\tloss.backward()\n"
        #expect(Format.oneLine(error) == "RuntimeError: CUDA error | Traceback (most recent call last): | File \"train.py\", line 88 | loss.backward()")
        #expect(Format.oneLine("plain text stays") == "plain text stays")
        #expect(Format.oneLine("a\u{7}bell") == "a bell")
    }
}
