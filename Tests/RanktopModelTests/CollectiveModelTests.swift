import RanktopReport
import Testing
@testable import RanktopModel
import RanktopProtocol

/// Collectives in the reducer: instances per (group, n), who is missing, implied exits, folding
/// and op mismatches.
@Suite struct CollectiveModelTests {
    private func enter(_ n: Int, group: String = "world", op: String = "all_reduce", size: Int? = nil, label: String? = nil, async: Bool? = nil, members: [Int]? = nil) -> EventBody {
        .collectiveEnter(CollectiveEnter(group: group, n: n, op: op, size: size, members: members, label: label, isAsync: async))
    }

    private func exit(_ n: Int, group: String = "world") -> EventBody {
        .collectiveExit(CollectiveExit(group: group, n: n))
    }

    @Test func aRankThatNeverComesIsMissingFromTheOpenCollective() {
        var s = Script()
        s.hello(0..<3, world: 3)
        for r in 0..<2 { s.emit(r, enter(0, label: "ddp.gradients")) }
        s.at(5)
        let model = Fixtures.model(s.events)
        let snapshot = RunSnapshot(model: model, now: s.t)
        #expect(snapshot.openCollectives.count == 1)
        let open = snapshot.openCollectives[0]
        #expect(open.arrived == [0, 1])
        #expect(open.missing == [2])
        #expect(open.title == "all_reduce #0 ddp.gradients")
        #expect(model.rank(0)?.status == .waiting)
        #expect(model.rank(0)?.currentCollective?.label == "ddp.gradients")
        #expect(model.rank(2)?.status == .running)
    }

    @Test func exitsArrivingBeforeTheLastEnterStillCompleteTheCollectiveOnce() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, enter(0))
        s.emit(0, exit(0))
        // Rank 1's events were delayed behind rank 0's exit.
        s.emit(1, enter(0))
        s.emit(1, exit(0))
        let model = Fixtures.model(s.events)
        #expect(model.openCollectives.isEmpty)
        #expect(model.completedCollectiveCount == 1)
        #expect(model.ranks.allSatisfy { $0.collectives.isEmpty && $0.status == .running })
    }

    @Test func ordinalsArePerGroup() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, enter(0, group: "world"))
        s.emit(0, enter(0, group: "tp", async: true, members: [0, 1]))
        s.emit(1, enter(0, group: "tp", async: true, members: [0, 1]))
        s.emit(0, exit(0, group: "tp"))
        s.emit(1, exit(0, group: "tp"))
        let model = Fixtures.model(s.events)
        #expect(model.collectiveGroups["tp"]?.completed == 1)
        #expect(model.collectiveGroups["tp"]?.members == [0, 1])
        let open = RunSnapshot(model: model, now: s.t).openCollectives
        #expect(open.map(\.group) == ["world"])
        #expect(open.first?.missing == [1])
    }

    @Test func enteringALaterBlockingCollectiveLeavesTheEarlierOneWhoseExitWasLost() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for r in 0..<2 { s.emit(r, enter(0)) }
        s.emit(0, exit(0))
        s.emit(1, enter(1), seqOverride: 3)  // rank 1's exit of #0 was lost
        let model = Fixtures.model(s.events)
        #expect(model.collectiveGroups["world"]?.open[0] == nil)
        #expect(model.rank(1)?.currentCollective?.n == 1)
    }

    @Test func anAsyncOpInFlightIsNotLeftByIssuingTheNextOne() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, enter(0, async: true))
        s.emit(0, enter(1, async: true))
        let model = Fixtures.model(s.events)
        #expect(model.rank(0)?.collectives.count == 2)
        // In flight is not a wait: rank 0 computes while its buckets reduce.
        #expect(model.rank(0)?.status == .running)
        #expect(model.rank(0)?.currentCollective?.n == 0)
    }

    @Test func progressEndsEveryCollectiveTheRankWasIn() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for r in 0..<2 { s.emit(r, enter(0, async: true)) }
        for r in 0..<2 { s.emit(r, .progress(Progress(step: 1))) }
        let model = Fixtures.model(s.events)
        #expect(model.openCollectives.isEmpty)
        #expect(model.completedCollectiveCount == 1)
    }

    @Test func aRankCallingAnotherOpAtTheSameOrdinalIsAMismatch() throws {
        var s = Script()
        s.hello(0..<3, world: 3)
        s.emit(0, enter(4, op: "all_reduce"))
        s.emit(1, enter(4, op: "all_reduce"))
        s.emit(2, enter(4, op: "all_gather"))
        let model = Fixtures.model(s.events)
        let mismatch = try #require(model.collectiveMismatches[CollectiveKey(group: "world", n: 4)])
        #expect(mismatch == ["all_reduce": [0, 1], "all_gather": [2]])
        let report = RunReport(model: model)
        #expect(report.diagnosis.contains { $0.contains("collective #4 of group \"world\" mismatched") })
        let json = report.json
        #expect(json["collective_mismatches"]?[0]?["seq"] == .int(4))
    }

    @Test func differentGroupSizesAtTheSameOrdinalAreAMismatch() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, enter(0, size: 2))
        s.emit(1, enter(0, size: 3))
        let model = Fixtures.model(s.events)
        #expect(model.collectiveMismatches.count == 1)
    }

    @Test func aCompletedMismatchIsStillReported() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, enter(0, op: "broadcast"))
        s.emit(1, enter(0, op: "all_reduce"))
        for r in 0..<2 { s.emit(r, exit(0)) }
        let model = Fixtures.model(s.events)
        #expect(model.openCollectives.isEmpty)
        #expect(model.collectiveMismatches.count == 1)
    }

    @Test func thousandsOfCompletedCollectivesFoldIntoCounters() {
        var s = Script()
        s.hello(0..<4, world: 4)
        for n in 0..<5000 {
            for r in 0..<4 { s.emit(r, enter(n, async: true)) }
            for r in 0..<4 { s.emit(r, exit(n)) }
            s.at(0.001)
        }
        let model = Fixtures.model(s.events)
        #expect(model.completedCollectiveCount == 5000)
        #expect(model.openCollectives.isEmpty)
        #expect(model.collectiveGroups["world"]!.recentlyCompleted.count <= RunModel.recentlyCompletedCollectives)
        #expect(model.ranks.allSatisfy { $0.collectives.isEmpty })
    }

    @Test func aRankThatDiesInsideACollectiveNoLongerHoldsItOpenAlone() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, enter(0))
        s.emit(0, .bye(code: 1, error: "boom"))
        let model = Fixtures.model(s.events)
        #expect(model.openCollectives.isEmpty)
    }

    @Test func membersOfAnotherGroupAreMissingByNumber() {
        var s = Script()
        s.hello(0..<4, world: 4)
        s.emit(1, enter(0, group: "pp", size: 2, members: [1, 3]))
        let model = Fixtures.model(s.events)
        let open = RunSnapshot(model: model, now: s.t).openCollectives
        #expect(open.first?.missing == [3])
    }

    @Test func withoutMembersTheMissingAreCounted() {
        var s = Script()
        s.hello(0..<4, world: 4)
        s.emit(1, enter(0, group: "sub", size: 3))
        let open = RunSnapshot(model: Fixtures.model(s.events), now: s.t).openCollectives
        #expect(open.first?.missing == nil)
        #expect(open.first?.missingCount == 2)
    }

    @Test func aRestartedRankStartsItsOrdinalsOver() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, enter(7))
        s.hello(0..<1, world: 2, pid: 900)
        let model = Fixtures.model(s.events)
        #expect(model.rank(0)?.collectives.isEmpty == true)
        #expect(model.openCollectives.isEmpty)
    }

    @Test func theReportNamesTheOpenCollectiveAndTheRanksInIt() throws {
        var s = Script()
        s.hello(0..<2, world: 2)
        for step in 1...5 {
            for r in 0..<2 { s.emit(r, .progress(Progress(step: step))) }
            s.at(0.1)
        }
        s.emit(0, enter(12, label: "ddp.gradients", async: true))
        s.at(30)
        s.emit(0, .heartbeat)
        s.emit(1, .heartbeat)
        let report = RunReport(model: Fixtures.model(s.events))
        let json = report.json
        let open = try #require(json["open_collectives"]?[0])
        #expect(open["group"] == .string("world"))
        #expect(open["seq"] == .int(12))
        #expect(open["op"] == .string("all_reduce"))
        #expect(open["label"] == .string("ddp.gradients"))
        #expect(open["arrived"] == .array([.int(0)]))
        #expect(open["missing"]?.serialized == "[1]")
        #expect(json["ranks"]?[0]?["collective"]?["seq"] == .int(12))
        #expect(json["ranks"]?[1]?["collective"] == .null)
        #expect(json["ranks"]?[0]?["stalled"] == .bool(true))
        #expect(json["stall"]?["step"] == .int(5))
        #expect(report.diagnosis.first?.hasPrefix("run stalled: no rank has progressed for 30s") == true)
        #expect(report.diagnosis.first?.contains("rank 0 waits in all_reduce #12 ddp.gradients (group \"world\") for rank 1") == true)
        #expect(!report.diagnosis.contains { $0.contains("no hang found") })
    }
}
