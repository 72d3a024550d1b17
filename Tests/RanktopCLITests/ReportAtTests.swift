import Foundation
import RanktopProtocol
import RanktopTestSupport
import Testing

/// `ranktop report LOG --at TIME`: the state at a moment, in the report's own shapes.
@Suite struct ReportAtTests {
    let hang = ReportCommandTests.fixtures.appendingPathComponent("hang.jsonl").path

    func report(_ arguments: [String]) async throws -> JSONValue {
        let result = try await ProcessRunner.ranktop(["report", hang, "--json"] + arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return try #require(JSONValue.parse(result.stdout))
    }

    @Test func test_beforeTheBarrierOpenedNothingIsOpen_afterItTheMissingRankIsNamed() async throws {
        let whole = try await report([])
        let start = try #require(whole["start_ts"]?.doubleValue)
        let end = try #require(whole["end_ts"]?.doubleValue)
        let since = try #require(whole["open_barriers"]?.arrayValue?.first?["since"]?.doubleValue)
        #expect(whole["at_ts"] == .null)

        let before = try await report(["--at", "+\(Int(since - start) - 5)s"])
        #expect(before["at_ts"]?.doubleValue == start + Double(Int(since - start) - 5))
        #expect(before["end_ts"] == before["at_ts"])
        #expect(before["open_barriers"]?.arrayValue?.isEmpty == true)

        let after = try await report(["--at", "-1s"])
        #expect(after["at_ts"]?.doubleValue == end - 1)
        let open = try #require(after["open_barriers"]?.arrayValue?.first)
        #expect(open["missing"] == whole["open_barriers"]?.arrayValue?.first?["missing"])
        // Durations run to the moment, not to the end of the log.
        #expect((after["ranks"]?.arrayValue?.count ?? 0) == (whole["ranks"]?.arrayValue?.count ?? -1))
    }

    @Test func test_anISOTimeAnAbsoluteTimestampAndAnOffsetNameTheSameMoment() async throws {
        let start = try #require(try await report([])["start_ts"]?.doubleValue)
        let moment = start + 90
        var parts = tm()
        var seconds = time_t(moment)
        gmtime_r(&seconds, &parts)
        let iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec)
        let byISO = try await report(["--at", iso])
        let byTimestamp = try await report(["--at", "\(Int(moment))"])
        let byOffset = try await report(["--at", "+1m30s"])
        #expect(byISO == byTimestamp)
        #expect(byISO == byOffset)
        #expect(byISO["at_ts"]?.doubleValue == moment)
    }

    @Test func test_theTextReportSaysWhichMomentItIsAbout() async throws {
        let result = try await ProcessRunner.ranktop(["report", hang, "--at", "+2m"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("2m00s into the log") || result.stdout.contains("2m into the log"), "\(result.stdout.prefix(300))")
    }

    @Test func test_aTimeThatIsNotATimeIsAUsageErrorSayingWhatATimeIs() async throws {
        for bad in ["soon", "+5x", "2026-13-01T00:00:00Z", ""] {
            let result = try await ProcessRunner.ranktop(["report", hang, "--at", bad])
            #expect(result.status != 0, "'\(bad)'")
            #expect(result.stderr.contains("--at"), "'\(bad)': \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        let early = try await ProcessRunner.ranktop(["report", hang, "--at", "1000"])
        #expect(early.status == 0)
        #expect(early.stderr.contains("before the log's first event"))
    }
}
