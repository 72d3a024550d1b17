import Testing
import RanktopModel
import RanktopProtocol

/// Stack frames as the two runtimes write them, how they read, how ranks group, and which ranks
/// the collector asks on its own.
@Suite struct StackFrameTests {
    static let venv = "/root/.cache/ranktop/venv/lib/python3.11/site-packages"

    @Test func aPythonLibraryFrameIsShortenedToItsPackage() {
        let frame = StackFrame(parsing: "\(StackFrameTests.venv)/torch/nn/modules/module.py:1736 in _call_impl: return forward_call(*args, **kwargs)")
        #expect(frame.function == "_call_impl")
        #expect(frame.location == "torch/nn/modules/module.py:1736")
        #expect(frame.code == "return forward_call(*args, **kwargs)")
        #expect(!frame.isUser)
    }

    @Test func theUsersOwnFrameKeepsItsPathAndIsMarked() {
        let frame = StackFrame(parsing: "/home/ana/proj/train.py:42 in train_step: loss = model(batch)")
        #expect(frame == StackFrame(function: "train_step", file: "/home/ana/proj/train.py", line: 42, code: "loss = model(batch)", isUser: true))
        #expect(Format.frame(frame, width: 200).text == "▶ train_step (/home/ana/proj/train.py:42)  loss = model(batch)")
    }

    @Test func theStandardLibraryFrozenModulesAndTheAdapterAreNotTheUsers() {
        let stdlib = StackFrame(parsing: "/usr/lib/python3.11/threading.py:320 in wait: waiter.acquire()")
        #expect(stdlib.location == "threading.py:320")
        #expect(!stdlib.isUser)
        let frozen = StackFrame(parsing: "<frozen runpy>:88 in _run_code")
        #expect(frozen.function == "_run_code")
        #expect(frozen.code == nil)
        #expect(!frozen.isUser)
        #expect(StackFrame(parsing: "<string>:6 in inner").isUser, "python -c: the user's code")
        let adapter = StackFrame(parsing: "/opt/ranktop/python/ranktop/_wiring.py:210 in wait_for_everyone: return original(*a)")
        #expect(adapter.location == "ranktop/_wiring.py:210")
        #expect(!adapter.isUser)
    }

    @Test func aPathHoldingInOrColonsStillSplitsAtTheLineNumber() {
        let frame = StackFrame(parsing: "/data/runs in progress/a:b/train.py:7 in <module>: main()")
        #expect(frame.file == "/data/runs in progress/a:b/train.py")
        #expect(frame.line == 7)
        #expect(frame.function == "<module>")
    }

    @Test func swiftRuntimeFramesKeepTheirWaitAsANote() {
        let frame = StackFrame(parsing: #"waitForEveryone(name: "save") at ranktop/DemoTraining.swift:66, waiting 3.2 s"#)
        #expect(frame.function == #"waitForEveryone(name: "save")"#)
        #expect(frame.location == "ranktop/DemoTraining.swift:66")
        #expect(frame.note == "waiting 3.2 s")
        #expect(frame.isUser)
        let label = StackFrame(parsing: "train loop")
        #expect(label == StackFrame(function: "train loop", isUser: true))
        let notInside = StackFrame(parsing: "(not inside a ranktop primitive)")
        #expect(notInside.function == "(not inside a ranktop primitive)")
    }

    @Test func fittingDropsTheDetailThenDirectoriesAndKeepsTheFunction() {
        let frame = StackFrame(parsing: "\(StackFrameTests.venv)/torch/nn/modules/module.py:1736 in _call_impl: return forward_call(*args, **kwargs)")
        #expect(Format.frame(frame, width: 200).text == "  _call_impl (torch/nn/modules/module.py:1736)  return forward_call(*args, **kwargs)")
        #expect(Format.frame(frame, width: 60).text == "  _call_impl (torch/nn/modules/module.py:1736)  return forw…")
        #expect(Format.frame(frame, width: 40).text == "  _call_impl (…/modules/module.py:1736)")
        #expect(Format.frame(frame, width: 31).text == "  _call_impl (…/module.py:1736)")
        #expect(Format.frame(frame, width: 30).text == "  _call_impl")
        #expect(Format.frame(frame, width: 20).text == "  _call_impl")
        #expect(Format.frame(frame, width: 8).text == "  _call…")
        #expect(Format.frame(frame, width: 8, ascii: true).text == "  _ca...")
        for width in 0..<90 {
            #expect(Format.frame(frame, width: width).text.count <= width, "width \(width)")
        }
    }

    @Test func identicalStacksGroupWithTheirWaitsAsideAndTheOddOneOutStandsAlone() {
        let waiting = { (seconds: String) in [#"train loop"#, #"waitForEveryone(name: "save") at ranktop/DemoTraining.swift:66, waiting \#(seconds) s"#] }
        let stacks = (0..<7).map { RankStack(rank: $0, ts: 100 + Double($0), frames: waiting("\($0).0")) }
            + [RankStack(rank: 7, ts: 100, frames: ["train loop", "checkTrigger() #9 at ranktop/DemoTraining.swift:75"])]
        let groups = StackGroup.groups(stacks.reversed())
        #expect(groups.count == 2)
        #expect(groups[0].title == "ranks 0-6 (7 ranks)")
        #expect(groups[0].newest == 106)
        // Innermost first; the notes are the lowest rank's.
        #expect(groups[0].frames.map(\.function) == [#"waitForEveryone(name: "save")"#, "train loop"])
        #expect(groups[0].frames[0].note == "waiting 0.0 s")
        #expect(groups[1].title == "rank 7 (1 rank)")
    }
}

@Suite struct StackCandidateTests {
    /// Ranks 0 and 1 wait in barrier 0 from t=1000; rank 2 never comes; rank 3 exited.
    func script() -> Script {
        var s = Script()
        s.hello(0..<4, world: 5)
        s.emit(3, .bye(code: 0, error: nil))
        s.emit(0, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.emit(1, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        return s
    }

    @Test func aBarrierOpenPastTheThresholdNamesWhoIsMissingThenWhoWaits() {
        let model = Fixtures.model(script().events)
        #expect(RunSnapshot(model: model, now: 1000.5).stackCandidates(waitOpenFor: 1).isEmpty)
        let candidates = RunSnapshot(model: model, now: 1001).stackCandidates(waitOpenFor: 1)
        // Rank 4 never said hello and rank 3 ended: neither has a process to answer.
        #expect(candidates == [
            StackCandidate(rank: 2, episode: "barrier:0"),
            StackCandidate(rank: 0, episode: "barrier:0"), StackCandidate(rank: 1, episode: "barrier:0"),
        ])
    }

    @Test func ofManyWaitingRanksASpreadSampleIsAskedAndEveryMissingOne() {
        var s = Script()
        s.hello(0..<100, world: 100)
        for rank in 0..<97 { s.emit(rank, .barrierEnter(BarrierEnter(n: 4, name: "save"))) }
        let candidates = RunSnapshot(model: Fixtures.model(s.events), now: 1010).stackCandidates(waitOpenFor: 5)
        #expect(candidates.map(\.rank) == [97, 98, 99, 0, 13, 27, 41, 54, 68, 82, 96])
        #expect(Set(candidates.map(\.episode)) == ["barrier:4"])
    }

    @Test func aRankThatFailedWhileWaitingIsNotAsked() {
        var s = script()
        s.emit(1, .bye(code: 1, error: "killed"))
        let candidates = RunSnapshot(model: Fixtures.model(s.events), now: 1010).stackCandidates(waitOpenFor: 5)
        #expect(candidates.map(\.rank) == [2, 0])
    }

    @Test func aRankThatLeftTheBarrierIsNoLongerAsked() {
        var s = script()
        s.emit(2, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.emit(4, .hello(Hello(run: "test", world: 5, localRank: 4, localWorld: 5, node: "n", pid: 9, runtime: "test")))
        s.emit(4, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.emit(0, .barrierExit(n: 0))
        let model = Fixtures.model(s.events)
        let candidates = RunSnapshot(model: model, now: 1010).stackCandidates(waitOpenFor: 5)
        #expect(candidates.map(\.rank) == [1, 2, 4])
    }

    @Test func aCollectiveOpenPastTheThresholdNamesItsMissingMemberThenWhoIsInside() {
        var s = Script()
        s.hello(0..<3, world: 3)
        for rank in 0..<2 {
            s.emit(rank, .collectiveEnter(CollectiveEnter(group: "world", n: 7, op: "all_reduce", label: "ddp.gradients", isAsync: true)))
        }
        let candidates = RunSnapshot(model: Fixtures.model(s.events), now: 1006).stackCandidates(waitOpenFor: 5)
        #expect(candidates == [
            StackCandidate(rank: 2, episode: "collective:world:7"),
            StackCandidate(rank: 0, episode: "collective:world:7"), StackCandidate(rank: 1, episode: "collective:world:7"),
        ])
    }

    @Test func aStalledRankInNoWaitIsAskedOncePerStall() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for step in 1...5 {
            s.at(0.1)
            for rank in 0..<2 { s.emit(rank, .progress(Progress(step: step))) }
        }
        s.at(11)
        for rank in 0..<2 { s.emit(rank, .heartbeat) }
        let candidates = RunSnapshot(model: Fixtures.model(s.events), now: s.t).stackCandidates(waitOpenFor: 5)
        #expect(candidates.map(\.rank) == [0, 1])
        #expect(candidates.allSatisfy { $0.episode.hasPrefix("stall:") })
    }
}
