import Foundation
import RanktopTestSupport
import Testing
import RanktopProtocol

@Suite struct ReportCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("RanktopModelTests/Fixtures")

    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent("\(name).jsonl").path }

    @Test func theTextReportPutsTheHangDiagnosisFirst() async throws {
        let result = try await ProcessRunner.ranktop(["report", fixture("hang")])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let stall = lines.firstIndex(of: "DIAGNOSIS").map { lines[$0 + 1] } ?? ""
        #expect(stall.contains("run stalled: no rank has progressed for 14m3"))
        let diagnosis = lines.firstIndex(of: "DIAGNOSIS").map { lines[$0 + 2] } ?? ""
        #expect(diagnosis.contains("barrier #1 \"save_checkpoint\" open 14m3"))
        #expect(diagnosis.contains("7/8 arrived; missing rank 5 (node-1)"))
    }

    @Test(arguments: ["clean", "hang", "crash", "lost", "mismatch", "code_trigger", "manual_trigger", "hostile"])
    func jsonOutputIsOneObjectWithTheContractedFields(name: String) async throws {
        let result = try await ProcessRunner.ranktop(["report", fixture(name), "--json"])
        #expect(result.status == 0, "exit 0 whatever the run did")
        let json = try #require(JSONValue.parse(result.stdout))
        for key in ["run", "world", "events", "rejected", "ranks", "open_barriers", "mismatches", "triggers", "stragglers", "phases"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        for rank in json["ranks"]?.arrayValue ?? [] {
            for key in ["rank", "state", "step", "barrier", "phase", "last_ts"] { #expect(rank[key] != nil) }
            #expect(["running", "waiting", "exited", "failed", "lost"].contains(rank["state"]?.stringValue ?? ""))
        }
        let ranks = (json["ranks"]?.arrayValue ?? []).compactMap { $0["rank"]?.intValue }
        #expect(ranks == ranks.sorted())
    }

    @Test func aMissingLogExitsTwoWithAClearMessage() async throws {
        let result = try await ProcessRunner.ranktop(["report", "/nonexistent/run.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr == "ranktop: cannot open '/nonexistent/run.jsonl': No such file or directory\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func aDirectoryIsNotALog() async throws {
        let result = try await ProcessRunner.ranktop(["report", NSTemporaryDirectory()])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is a directory, not an event log"))
    }

    @Test func anEmptyLogStillGivesAReport() async throws {
        let path = NSTemporaryDirectory() + "ranktop-empty-\(UUID().uuidString).jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await ProcessRunner.ranktop(["report", path, "--json"])
        #expect(result.status == 0)
        #expect(JSONValue.parse(result.stdout)?["events"]?.intValue == 0)
    }
}
