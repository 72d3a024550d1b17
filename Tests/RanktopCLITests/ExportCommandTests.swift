import Foundation
import RanktopTestSupport
import Testing
import RanktopProtocol

@Suite struct ExportCommandTests {
    func fixture(_ name: String) -> String { ReportCommandTests.fixtures.appendingPathComponent("\(name).jsonl").path }

    @Test func aChromeTraceShowsTheHangAsOpenSpansOnEveryRankButTheMissingOne() throws {
        let result = try ProcessRunner.ranktop(["export", fixture("hang")])
        #expect(result.status == 0)
        let trace = try #require(JSONValue.parse(result.stdout))
        let events = trace["traceEvents"]?.arrayValue ?? []
        let open = events.filter { $0["name"]?.stringValue == "barrier #1 save_checkpoint (still open)" }
        #expect(open.compactMap { $0["tid"]?.intValue }.sorted() == [0, 1, 2, 3, 4, 6, 7])
        #expect(open.allSatisfy { ($0["dur"]?.doubleValue ?? 0) > 14 * 60 * 1e6 })
        let names = events.filter { $0["name"]?.stringValue == "thread_name" }.compactMap { $0["args"]?["name"]?.stringValue }
        #expect(names.count == 8)
        let mainPart = events.first { $0["name"]?.stringValue == "load_dataset (main part)" }
        #expect(mainPart?["tid"]?.intValue == 0)
        #expect(mainPart?["dur"]?.doubleValue.map { abs($0 - 30.01e6) < 1e4 } == true)
    }

    @Test func triggerFiringsBecomeInstantsAndTheFileOptionWrites() throws {
        let path = NSTemporaryDirectory() + "ranktop-trace-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try ProcessRunner.ranktop(["export", fixture("manual_trigger"), "-o", path])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        let trace = try #require(JSONValue.parse(try String(contentsOfFile: path, encoding: .utf8)))
        let fired = (trace["traceEvents"]?.arrayValue ?? []).filter { $0["name"]?.stringValue == "trigger fired at check #12" }
        #expect(fired.count == 4)
    }

    @Test func anUnreadableLogExitsTwo() throws {
        let result = try ProcessRunner.ranktop(["export", "/nonexistent.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("ranktop: cannot open '/nonexistent.jsonl'"))
    }
}
