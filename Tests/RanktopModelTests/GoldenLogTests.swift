import RanktopReport
import Testing
import RanktopModel
import RanktopProtocol

/// Each golden log is a run that went a known way; the report must say so.
@Suite struct GoldenLogTests {
    @Test func aCleanRunReportsEveryRankExitedAndNothingOpen() throws {
        let report = try Fixtures.report("clean")
        #expect(report.world == 4)
        #expect(report.run == "r42")
        #expect(report.rejected == 0)
        #expect(report.ranks.map(\.status) == Array(repeating: .exited, count: 4))
        #expect(report.ranks.map(\.step) == Array(repeating: 10, count: 4))
        #expect(report.openBarriers.isEmpty)
        #expect(report.completedBarriers == 2)
        #expect(report.diagnosis == ["run completed: all 4 ranks exited cleanly at step 10"])
        // Barrier 1 arrivals were 0, 1, 3, 2 half a second apart: rank 2 kept the others 1.5 s.
        #expect(report.stragglers.map(\.rank) == [2])
        #expect(abs(report.stragglers[0].waitCaused - 1.5) < 1e-6)
        #expect(report.phases.count == 1)
        #expect(report.phases[0].name == "load_dataset")
        #expect(abs((report.phases[0].mainSeconds ?? 0) - 30.0) < 1e-6)
        #expect(abs((report.phases[0].othersSeconds ?? 0) - 2.5) < 0.05)
    }

    @Test func aHangNamesTheBarrierAndTheMissingRankFirst() throws {
        let report = try Fixtures.report("hang")
        #expect(report.openBarriers.count == 1)
        let barrier = report.openBarriers[0]
        #expect(barrier.n == 1)
        #expect(barrier.name == "save_checkpoint")
        #expect(barrier.missing == [5])
        #expect(barrier.arrived == [0, 1, 2, 3, 4, 6, 7])
        // The stall leads (no rank progresses), with where the waiting ranks are and who they wait for.
        let stall = report.diagnosis.first ?? ""
        #expect(stall.hasPrefix("run stalled: no rank has progressed for 14m3"))
        #expect(stall.contains("ranks 0-4, 6-7 wait in barrier #1 \"save_checkpoint\" for rank 5"))
        let first = report.diagnosis.dropFirst().first ?? ""
        #expect(first.hasPrefix("barrier #1 \"save_checkpoint\" open 14m3"))
        #expect(first.contains("7/8 arrived; missing rank 5 (node-1), last seen at the end of the log at step 81 (no progress for 14m3"))
        #expect(first.contains("running"))
        #expect(first.contains("the collective timeout fires in"))
        #expect(report.ranks[5].status == .running)
        #expect(report.ranks[0].status == .waiting)
        #expect(report.ranks[0].barrier?.n == 1)
    }

    @Test func aCrashShowsTheFailedRankWithItsErrorAsMissing() throws {
        let report = try Fixtures.report("crash")
        #expect(report.ranks[2].status == .failed)
        #expect(report.ranks[2].error == "RuntimeError: CUDA out of memory")
        #expect(report.openBarriers.first?.missing == [2])
        #expect(report.diagnosis.contains { $0.hasPrefix("rank 2 (node-1) failed at step 20: RuntimeError: CUDA out of memory (exit code 1)") })
    }

    @Test func aLostRankIsLostAndMissing() throws {
        let report = try Fixtures.report("lost")
        #expect(report.ranks[1].status == .lost)
        #expect(report.openBarriers.first?.missing == [1])
        #expect(report.openBarriers.first?.name == nil)
        // The root cause leads; the barrier it left open follows.
        #expect(report.diagnosis.first?.hasPrefix("rank 1 (node-0) lost at step 12") == true)
        #expect(report.diagnosis.dropFirst().first?.contains("missing rank 1 (node-0), last seen") == true)
    }

    @Test func mismatchedBarrierNamesAreReportedWithTheirRanks() throws {
        let report = try Fixtures.report("mismatch")
        #expect(report.mismatches.count == 1)
        #expect(report.mismatches[0].n == 1)
        #expect(report.mismatches[0].names.map(\.name) == ["evaluate", "save"])
        #expect(report.mismatches[0].names.map(\.ranks) == [[2, 3], [0, 1]])
    }

    /// Each trigger fixture fires once, and the firing names its cause: a rank and its reason
    /// for code, the injection and who asked for manual.
    @Test(arguments: [
        ("code_trigger", TriggerRowExpectation(check: 7, source: .code, rank: 2, reason: "loss plateaued", id: nil, by: nil, step: 8)),
        ("manual_trigger", TriggerRowExpectation(check: 12, source: .manual, rank: nil, reason: "diverging", id: "inj-7f3a", by: "alice@login-1", step: nil)),
    ])
    func aTriggerFiringNamesItsCause(fixture: String, expected: TriggerRowExpectation) throws {
        let report = try Fixtures.report(fixture)
        #expect(report.triggers.count == 1)
        let t = report.triggers[0]
        #expect(t.check == expected.check && t.source == expected.source && t.reason == expected.reason)
        #expect(t.id == expected.id && t.by == expected.by)
        if let rank = expected.rank { #expect(t.rank == rank) }
        if let step = expected.step { #expect(t.step == step) }
    }

    @Test func aHostileLogStillGivesAReportOfItsGoodLines() throws {
        let report = try Fixtures.report("hostile")
        #expect(report.rejected == 11)
        #expect(report.world == 2)
        #expect(report.ranks.count == 2)
        #expect(report.ranks[1].dropped == 2, "seq jumps from 4 to 7 on rank 1")
        #expect(report.text.contains("REJECTED LINES (11)"))
    }

    @Test func theJSONReportHasTheContractedShape() throws {
        let json = try Fixtures.report("hang").json
        let parsed = JSONValue.parse(json.serialized)
        #expect(parsed == json)
        #expect(json["run"]?.stringValue == "r42")
        #expect(json["world"]?.intValue == 8)
        #expect(json["events"]?.intValue == 4831)
        #expect(json["rejected"]?.intValue == 0)
        let rank5 = json["ranks"]?[5]
        #expect(rank5?["rank"]?.intValue == 5)
        #expect(rank5?["state"]?.stringValue == "running")
        #expect(rank5?["step"]?.intValue == 81)
        #expect(rank5?["barrier"] == .null)
        #expect(rank5?["phase"] == .null)
        #expect(rank5?["last_ts"]?.doubleValue != nil)
        let rank0Barrier = json["ranks"]?[0]?["barrier"]
        #expect(rank0Barrier?["n"]?.intValue == 1)
        #expect(rank0Barrier?["name"]?.stringValue == "save_checkpoint")
        #expect(rank0Barrier?["since"]?.doubleValue != nil)
        let open = json["open_barriers"]?[0]
        #expect(open?["missing"] == .array([.int(5)]))
        #expect(open?["arrived"]?.arrayValue?.count == 7)
        #expect(json["mismatches"] == .array([]))
        #expect(json["triggers"] == .array([]))
        #expect(json["phases"]?[0]?["name"]?.stringValue == "load_dataset")
        #expect(json["phases"]?[0]?["mode"]?.stringValue == "main_first")
        #expect(json["phases"]?[0]?["main_s"]?.doubleValue == 30)
    }
}

/// Issue 9, item 3: the trace and the report are built from the same model, so they agree.
@Suite struct TraceAgreesWithReportTests {
    @Test(arguments: ["clean", "hang", "crash", "lost", "mismatch", "code_trigger", "manual_trigger", "hostile"])
    func test_openSpansAreTheReportsOpenBarriersAndPhases(name: String) throws {
        var trace = ChromeTrace()
        var spans: [JSONValue] = []
        var model = RunModel()
        _ = try EventLogReader.read(path: Fixtures.path(name)) { event in
            spans += trace.convert(event)
            model.apply(event)
        }
        spans += trace.finish()
        let report = RunReport(model: model)
        func ranks(_ category: String, open: Bool) -> [Int] {
            spans.filter { $0["cat"]?.stringValue == category && ($0["name"]?.stringValue?.hasSuffix("(still open)") ?? false) == open }
                .compactMap { $0["tid"]?.intValue }.sorted()
        }
        #expect(ranks("barrier", open: true) == report.ranks.filter { $0.barrier != nil }.map(\.rank), "\(name)")
        #expect(ranks("phase", open: true) == report.ranks.filter { $0.phase != nil }.map(\.rank), "\(name)")
        // Every completed barrier the model counted has its spans: one per rank that was seen in it.
        let closedBarriers = Set(spans.filter { $0["cat"]?.stringValue == "barrier" && !($0["name"]?.stringValue?.hasSuffix("(still open)") ?? true) }
            .compactMap { $0["args"]?["n"]?.intValue })
        if report.openBarriers.isEmpty {
            #expect(closedBarriers.count == report.completedBarriers, "\(name): \(closedBarriers.sorted())")
        }
        #expect(spans.allSatisfy { ($0["dur"]?.doubleValue ?? 0) >= 0 })
    }
}

struct TriggerRowExpectation: Sendable, CustomTestStringConvertible {
    var check: Int
    var source: TriggerSource
    var rank: Int?
    var reason: String?
    var id: String?
    var by: String?
    var step: Int?
    var testDescription: String { "\(source) at check \(check)" }
}
