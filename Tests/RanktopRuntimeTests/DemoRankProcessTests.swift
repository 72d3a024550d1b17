import Foundation
import RanktopProtocol
import RanktopTestSupport
import Testing

/// `ranktop demo-rank` as real processes on the Swift runtime: a rendezvous between processes,
/// with and without anyone watching.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct DemoRankProcessTests {
    static let fast = ["--steps", "40", "--step-time", "0.01"]

    static func stopLine(_ finished: RankProcesses.Finished) -> String {
        finished.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    static func withoutRank(_ line: String) -> String {
        String(line.drop { $0 != ":" })
    }

    @Test func test_ranksWithoutACollectorCompleteAndAgreeOnTheStopStep() async throws {
        let finished = try await RankProcesses.launch(world: 4, arguments: Self.fast).wait()
        for rank in finished {
            #expect(rank.status == 0, "rank \(rank.rank) failed: \(rank.stderr)")
            #expect(Self.stopLine(rank) == "rank \(rank.rank): stopped at step 30 (trigger check 29)")
        }
    }

    @Test func test_aSingleProcessRunsTheSameProgramWithoutARendezvous() async throws {
        let finished = try await RankProcesses.launch(world: 1, arguments: Self.fast).wait()
        #expect(finished.map(\.status) == [0])
        #expect(finished.map(Self.stopLine) == ["rank 0: stopped at step 30 (trigger check 29)"])
    }

    @Test func test_barrierOrdinalsAlignAndEveryRankFiresAtTheSameCheck() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let finished = try await RankProcesses.launch(
            world: 4, localWorld: 2, arguments: ["--steps", "20", "--step-time", "0.01"],
            environment: ["RANKTOP_ADDR": listener.address, "RANKTOP_RUN": "align"]).wait()
        #expect(finished.allSatisfy { $0.status == 0 })
        try await listener.waitUntil("every rank's bye") { lines in
            lines.joined().filter { decodeEvent($0)?.kind == .bye }.count == 4
        }

        var barriersByRank: [[String]] = []
        var firedChecks: [[Int]] = []
        for rank in 0..<4 {
            let events = listener.lines(ofRank: rank).compactMap(decodeEvent)
            let barriers = events.compactMap(\.barrierEnter)
            #expect(barriers.map(\.n) == Array(0..<barriers.count), "rank \(rank) barrier ordinals")
            barriersByRank.append(barriers.map { "\($0.n) \($0.name ?? "-")" })
            #expect(events.compactMap(\.barrierExitOrdinal) == barriers.map(\.n))
            let checks = events.compactMap(\.triggerCheck)
            #expect(checks.map(\.n) == Array(0..<checks.count))
            firedChecks.append(checks.filter(\.fired).map(\.n))
            #expect(events.first?.kind == .hello)
            #expect(events.last?.kind == .bye)
        }
        #expect(Set(barriersByRank.map { $0.joined(separator: ",") }).count == 1, "barrier sequences differ: \(barriersByRank)")
        #expect(barriersByRank[0].contains("0 load_dataset"))
        #expect(barriersByRank[0].contains { $0.hasSuffix(" save_checkpoint") })
        #expect(barriersByRank[0].contains { $0.hasSuffix(" evaluate") })
        #expect(firedChecks.allSatisfy { $0.count == 1 && $0 == firedChecks[0] }, "fired checks: \(firedChecks)")

        let causes = listener.allLines.compactMap(decodeEvent).compactMap(\.triggerSet)
        #expect(!causes.isEmpty)
        #expect(causes.allSatisfy { $0.source == .code && ($0.reason ?? "").hasPrefix("loss plateaued") })
    }

    @Test func test_mainProcessFirstRunsTheMainRanksBlockBeforeEveryoneElses() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        // Two nodes of two ranks: ranks 0 and 2 are local mains.
        let finished = try await RankProcesses.launch(
            world: 4, localWorld: 2, arguments: ["--steps", "8", "--step-time", "0.05", "--eval-every", "4"],
            environment: ["RANKTOP_ADDR": listener.address, "RANKTOP_RUN": "first"]).wait()
        #expect(finished.allSatisfy { $0.status == 0 })
        try await listener.waitUntil("every rank's bye") { lines in
            lines.joined().filter { decodeEvent($0)?.kind == .bye }.count == 4
        }
        let events = (0..<4).map { listener.lines(ofRank: $0).compactMap(decodeEvent) }

        for (phase, mains) in [("load_dataset", Set([0])), ("evaluate", Set([0, 2]))] {
            var mainWorkDone: [Double] = []  // a main rank's barrier.enter: its block has run
            var othersStart: [Double] = []  // another rank's barrier.exit: its block starts
            for rank in 0..<4 {
                let enters = events[rank].filter { $0.phaseEnter?.name == phase }
                #expect(!enters.isEmpty, "rank \(rank) never entered \(phase)")
                #expect(enters.allSatisfy { $0.phaseEnter?.main == mains.contains(rank) }, "rank \(rank) main flag in \(phase)")
                guard let barrier = events[rank].first(where: { $0.barrierEnter?.phase == phase }),
                      let exit = events[rank].first(where: { $0.barrierExitOrdinal == barrier.barrierEnter?.n })
                else {
                    Issue.record("rank \(rank) has no barrier inside \(phase)")
                    continue
                }
                if mains.contains(rank) { mainWorkDone.append(barrier.ts) } else { othersStart.append(exit.ts) }
            }
            #expect(mainWorkDone.max()! <= othersStart.min()!, "\(phase): a non-main rank started before the main ranks finished")
        }
    }

    @Test func test_anInjectedTriggerStopsEveryRankAtTheSameCheck() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let ranks = try RankProcesses.launch(
            world: 3, arguments: ["--steps", "100000", "--step-time", "0.02", "--no-early-stop"],
            environment: ["RANKTOP_ADDR": listener.address, "RANKTOP_RUN": "inject"])
        try await listener.waitUntil("every rank past step 5") { _ in
            (0..<3).allSatisfy { rank in
                listener.lines(ofRank: rank).compactMap(decodeEvent).contains {
                    if case let .progress(progress) = $0.body { progress.step >= 5 } else { false }
                }
            }
        }
        // The collector hands the injection to every rank, the same id twice.
        let inject = ControlLine.inject(id: "inj-42", reason: "stop from the test").line
        listener.deliver(inject)
        listener.deliver(inject)
        let finished = try await ranks.wait()
        #expect(finished.allSatisfy { $0.status == 0 })
        let lines = finished.map { Self.withoutRank(Self.stopLine($0)) }
        #expect(Set(lines).count == 1, "ranks stopped at different points: \(lines)")

        try await listener.waitUntil("every rank's bye") { all in
            all.joined().filter { decodeEvent($0)?.kind == .bye }.count == 3
        }
        var fired: [[Int]] = []
        var manualSets = 0
        for rank in 0..<3 {
            let events = listener.lines(ofRank: rank).compactMap(decodeEvent)
            fired.append(events.compactMap(\.triggerCheck).filter(\.fired).map(\.n))
            let sets = events.compactMap(\.triggerSet)
            #expect(sets.allSatisfy { $0.source == .manual && $0.id == "inj-42" && $0.reason == "stop from the test" })
            #expect(sets.count <= 1, "rank \(rank) applied inj-42 \(sets.count) times")
            manualSets += sets.count
        }
        #expect(manualSets >= 1)
        #expect(fired.allSatisfy { $0.count == 1 && $0 == fired[0] }, "fired checks: \(fired)")
    }

    @Test func test_aRankThatCannotReachRankZeroFailsWithAClearMessage() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let finished = try await RankProcesses.launch(
            world: 2, ranks: [1], arguments: ["--connect-timeout", "1"],
            environment: ["RANKTOP_ADDR": listener.address, "RANKTOP_RUN": "lonely"]).wait(timeout: 30)
        #expect(finished[0].status == 1)
        #expect(finished[0].stderr.contains("ranktop: rank 1: no rendezvous store at 127.0.0.1:"))
        #expect(finished[0].stderr.contains("is rank 0 running"))
        // Whoever watches learns why the rank never joined.
        try await listener.waitUntil("bye") { $0.joined().contains { decodeEvent($0)?.kind == .bye } }
        let bye = listener.lines(ofRank: 1).compactMap(decodeEvent).last
        guard case let .bye(code, error)? = bye?.body else {
            Issue.record("no bye from rank 1")
            return
        }
        #expect(code == 1)
        #expect(error?.contains("no rendezvous store") == true)
    }

    @Test func test_whenRankZeroDiesTheOthersFailInsteadOfHangingForever() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let ranks = try RankProcesses.launch(
            world: 2, arguments: ["--steps", "100000", "--step-time", "0.02", "--no-early-stop"],
            environment: ["RANKTOP_ADDR": listener.address, "RANKTOP_RUN": "rank0-dies"]
        )
        // Both ranks past the rendezvous and training: then rank 0 dies.
        try await listener.waitUntil("both ranks stepping") { _ in
            (0..<2).allSatisfy { rank in listener.lines(ofRank: rank).contains { decodeEvent($0)?.kind == .progress } }
        }
        kill(ranks.pids[0]!, SIGKILL)
        let finished = try await ranks.wait(timeout: 30)
        let survivor = try #require(finished.first { $0.rank == 1 })
        #expect(survivor.status == 1)
        #expect(survivor.stderr.contains("went away (rank 0 exited or crashed)"), "stderr: \(survivor.stderr)")
    }

    /// A launcher's teardown reaches rank 0 (the store) first: the rank that sees the store go
    /// and is then signalled says it was stopped, not that it failed.
    @Test func test_aRankThatLosesTheStoreAndIsThenTerminatedWasStoppedNotFailed() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        // 20 s steps: rank 0 spends 80 s in load_dataset's main-first block, rank 1 waits for it
        // in the phase's barrier, reading from the store.
        let ranks = try RankProcesses.launch(
            world: 2, arguments: ["--steps", "2", "--step-time", "20"],
            environment: ["RANKTOP_ADDR": listener.address, "RANKTOP_RUN": "teardown"]
        )
        try await listener.waitUntil(timeout: 30, "rank 1 in the barrier") { _ in
            listener.lines(ofRank: 1).contains { decodeEvent($0)?.kind == .barrierEnter }
        }
        // Rank 0 gone first (rank 1 sees the store close at once), then the signal: the order a
        // launcher's teardown can have.
        kill(ranks.pids[0]!, SIGKILL)
        try await waitUntil("rank 0 gone", timeout: 10, every: 0.005) { kill(ranks.pids[0]!, 0) != 0 || ProcessStat.isZombie(Int(ranks.pids[0]!)) }
        kill(ranks.pids[1]!, SIGTERM)
        let finished = try await ranks.wait(timeout: 30)
        let survivor = try #require(finished.first { $0.rank == 1 })
        #expect(survivor.status == 128 + SIGTERM, "stderr: \(survivor.stderr)")
        try await listener.waitUntil("rank 1's bye") { _ in listener.lines(ofRank: 1).contains { decodeEvent($0)?.kind == .bye } }
        // Its only word on the way out: stopped, never a failure first.
        let byes = listener.lines(ofRank: 1).compactMap(decodeEvent).filter { $0.kind == .bye }.map(\.body)
        #expect(byes == [.bye(code: 128 + Int(SIGTERM), error: "stopped by SIGTERM")], "\(byes)")
    }

    @Test func test_aTerminatedRankSaysWhyInItsBye() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let ranks = try RankProcesses.launch(
            world: 1, arguments: ["--steps", "100000", "--step-time", "0.02", "--no-early-stop"],
            environment: ["RANKTOP_ADDR": listener.address])
        try await listener.waitUntil("some progress") { $0.joined().contains { decodeEvent($0)?.kind == .progress } }
        kill(ranks.pids[0]!, SIGTERM)
        let finished = try await ranks.wait(timeout: 30)
        #expect(finished[0].status == 128 + SIGTERM)
        try await listener.waitUntil("bye") { $0.joined().contains { decodeEvent($0)?.kind == .bye } }
        let bye = listener.allLines.compactMap(decodeEvent).last
        guard case let .bye(code, error)? = bye?.body else {
            Issue.record("no bye")
            return
        }
        #expect(code == 128 + Int(SIGTERM))
        #expect(error == "stopped by SIGTERM")
    }

    @Test func test_launchEnvironmentMistakesAreExplained() async throws {
        let finished = try await RankProcesses.launch(
            world: 2, ranks: [0], arguments: [], environment: ["RANK": "7"]).wait(timeout: 30)
        #expect(finished[0].status == 1)
        #expect(finished[0].stderr.contains("RANK=7 is outside 0..<2"))
    }
}
