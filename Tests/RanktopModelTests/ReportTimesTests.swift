import RanktopReport
import Testing
@testable import RanktopModel
import RanktopProtocol

/// D.18: a report is read long after its run; its times are said relative to the end of the log.
@Suite struct ReportTimesTests {
    @Test func test_D18_theReportSaysHowLongBeforeTheEndOfTheLog_notAgoOrJustNow() {
        var s = Script()
        s.hello(0..<3, world: 3)
        s.emit(0, .barrierEnter(BarrierEnter(n: 0, name: "save")))
        s.emit(1, .lost(reason: "heartbeats stopped"))
        s.at(190)
        s.emit(0, .heartbeat)
        s.emit(2, .heartbeat)
        let report = RunReport(model: Fixtures.model(s.events))
        let text = report.text
        #expect(text.contains("rank 1 (node-0) lost, last seen 3m10s before the end of the log: heartbeats stopped"), "\(text)")
        #expect(text.contains("rank 1 (node-0), last seen 3m10s before the end of the log, lost"), "\(text)")
        let row0 = text.split(separator: "\n").first { $0.contains("node-0  waiting") }
        #expect(row0?.contains("at the end") == true, "\(text)")
        #expect(!text.contains(" ago") && !text.contains("just now"), "\(text)")
    }
}
