import RanktopReport
import Testing
@testable import RanktopModel
import RanktopProtocol

/// D.16: ranks that ranktop stopped because the user asked are `stopped`, not failed or lost.
@Suite struct UserStopTests {
    static let stop = Event(rank: -1, ts: 1005, .stop(Stop(signal: "SIGINT", by: "ana@gpu-1", reason: "SIGINT received")))

    /// Four ranks; rank 3 failed before the user stopped the run.
    func stoppedRun() -> Script {
        var s = Script()
        s.hello(0..<4, world: 4)
        s.at(1)
        s.emit(3, .bye(code: 1, error: "ValueError: bad batch"))
        s.at(4)
        s.events.append(UserStopTests.stop)
        s.at(1)
        s.emit(0, .bye(code: 130, error: "stopped by SIGINT"))
        s.emit(1, .bye(code: 130, error: "KeyboardInterrupt"))
        s.emit(2, .lost(reason: "connection closed"))
        return s
    }

    @Test func test_D16_theStopEventSurvivesTheLog() {
        let line = EventEncoder.line(UserStopTests.stop)
        #expect(line.contains(#""kind":"stop""#) && line.contains(#""signal":"SIGINT""#), "\(line)")
        var decoder = EventDecoder()
        #expect(decoder.decode(String(line.dropLast())) == .success(UserStopTests.stop))
        #expect(decoder.decode(#"{"v":1,"kind":"stop","rank":-1,"ts":1}"#).isFailure, "signal is required")
    }

    @Test func test_D16_signalDeathsAfterTheUsersStopAreStopped_failuresBeforeItStayFailures() {
        let model = Fixtures.model(stoppedRun().events)
        #expect(model.stop?.signal == "SIGINT")
        #expect((0..<4).map { model.rank($0)?.status } == [.stopped, .stopped, .stopped, .failed])
        #expect(model.ranks.allSatisfy { $0.status.isTerminal })
    }

    @Test func test_D16_aSignalDeathWithoutAStopIsStillAFailure() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.emit(0, .bye(code: 143, error: "stopped by SIGTERM"))
        s.emit(1, .lost(reason: "connection closed"))
        let model = Fixtures.model(s.events)
        #expect(model.rank(0)?.status == .failed)
        #expect(model.rank(1)?.status == .lost)
    }

    @Test func test_D16_aRealErrorDuringTheStopIsAFailure() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.events.append(UserStopTests.stop)
        s.emit(0, .bye(code: 1, error: "RuntimeError: NCCL"))
        s.emit(1, .bye(code: 0, error: nil))
        let model = Fixtures.model(s.events)
        #expect(model.rank(0)?.status == .failed)
        #expect(model.rank(1)?.status == .exited)
    }

    @Test func test_D16_theReportSaysStoppedInTextAndJSON() {
        let report = RunReport(model: Fixtures.model(stoppedRun().events))
        let states = report.json["ranks"]?.arrayValue?.compactMap { $0["state"]?.stringValue }
        #expect(states == ["stopped", "stopped", "stopped", "failed"])
        #expect(report.json["stop"]?["signal"]?.stringValue == "SIGINT")
        #expect(report.diagnosis.contains("stopped by the user: SIGINT received (ana@gpu-1); ranks 0-2 stopped by SIGINT"), "\(report.diagnosis)")
        #expect(report.diagnosis.contains { $0.hasPrefix("rank 3 (node-1) failed") })
        #expect(!report.diagnosis.contains { $0.contains("rank 0") && $0.contains("failed") }, "\(report.diagnosis)")
        #expect(!report.text.contains("lost"), "\(report.text)")
    }

    @Test func test_D16_aCleanlyStoppedRunIsNotCalledHealthyOrFailed() {
        var s = Script()
        s.hello(0..<2, world: 2)
        s.events.append(UserStopTests.stop)
        s.emit(0, .bye(code: 130, error: "stopped by SIGINT"))
        s.emit(1, .bye(code: 130, error: "stopped by SIGINT"))
        let report = RunReport(model: Fixtures.model(s.events))
        #expect(report.diagnosis.last == "nothing failed: 2 of 2 ranks stopped as asked, 0 exited cleanly", "\(report.diagnosis)")
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
