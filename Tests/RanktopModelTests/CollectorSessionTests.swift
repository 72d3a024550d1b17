import RanktopReport
import Testing
@testable import RanktopModel
import RanktopProtocol

/// A collector's start and clean end in the log: a start with no end before the next one is a
/// collector that died, and the report says when and who was still running.
@Suite struct CollectorSessionTests {
    static func record(_ state: CollectorRecord.State, pid: Int, at ts: Double) -> Event {
        Event(rank: -1, ts: ts, .collector(CollectorRecord(state: state, pid: pid, node: "head")))
    }

    /// Four ranks; the first collector dies after rank 3 ended, a second one takes over 5 s later
    /// and ends cleanly after every rank said bye.
    func restartedRun() -> Script {
        var s = Script()
        s.events.append(Self.record(.start, pid: 41, at: s.t))
        s.hello(0..<4, world: 4)
        s.at(1)
        s.emit(3, .bye(code: 0, error: nil))
        s.at(1)
        for r in 0..<3 { s.emit(r, .progress(Progress(step: 7))) }
        let diedAt = s.t
        s.at(5)
        s.events.append(Self.record(.start, pid: 42, at: s.t))
        s.at(1)
        for r in 0..<3 { s.emit(r, .progress(Progress(step: 9))) }
        for r in 0..<3 { s.emit(r, .bye(code: 0, error: nil)) }
        s.at(1)
        s.events.append(Self.record(.end, pid: 42, at: s.t))
        #expect(diedAt == 1002)
        return s
    }

    @Test func aRecordSurvivesTheLogAndABadOneIsRefused() {
        let event = Self.record(.end, pid: 42, at: 1000)
        let line = EventEncoder.line(event)
        #expect(line == #"{"kind":"collector","rank":-1,"ts":1000,"state":"end","pid":42,"node":"head"}"# + "\n")
        var decoder = EventDecoder()
        #expect(decoder.decode(String(line.dropLast())) == .success(event))
        #expect(decoder.decode(#"{"kind":"collector","rank":-1,"ts":1,"state":"paused","pid":1,"node":"h"}"#).isFailure)
        #expect(decoder.decode(#"{"kind":"collector","rank":2,"ts":1,"state":"start","pid":1,"node":"h"}"#).isFailure, "a rank cannot speak for the collector")
        #expect(decoder.decode(#"{"kind":"collector","rank":-1,"ts":1,"state":"start","node":"h"}"#).isFailure, "pid is required")
    }

    @Test func aStartWithoutAnEndBeforeTheNextStartIsADeath() {
        let model = Fixtures.model(restartedRun().events)
        let sessions = model.collectorSessions
        #expect(sessions.count == 2)
        #expect(sessions[0].pid == 41 && sessions[0].diedAt == 1002 && sessions[0].endedAt == nil)
        #expect(sessions[0].runningAtDeath == RankSet(0..<3), "rank 3 had ended")
        #expect(sessions[1].pid == 42 && sessions[1].diedAt == nil && sessions[1].endedAt == 1009)

        let report = RunReport(model: model)
        let line = report.diagnosis.first { $0.contains("died") }
        #expect(line == "the collector (pid 41 on head) died at \(Format.utc(1002)) (its last event in the log); ranks 0-2 were still running then; a new collector took over 5.0s later", "\(report.diagnosis)")
        let json = report.json.serialized
        #expect(json.contains(#""collectors":[{"pid":41,"node":"head","start_ts":1000,"end_ts":null,"died_ts":1002},{"pid":42,"node":"head","start_ts":1007,"end_ts":1009,"died_ts":null}]"#), "\(json)")
    }

    @Test func theLastCollectorIsOnlySaidDeadWhenTheCallerKnowsItsProcessIsGone() {
        var script = restartedRun()
        script.events.removeLast()  // the second collector's end
        script.events.removeLast(3)  // and the byes: the ranks run on
        let model = Fixtures.model(script.events)
        #expect(!RunReport(model: model).diagnosis.contains { $0.contains("pid 42") }, "a live collector's log has no end yet")
        let gone = RunReport(model: model, collectorGone: true)
        let line = gone.diagnosis.first { $0.contains("pid 42") }
        #expect(line == "the collector (pid 42 on head) died at \(Format.utc(1008)) (its last event in the log); ranks 0-2 were still running then", "\(gone.diagnosis)")
        #expect(gone.json.serialized.contains(#""died_ts":1008}]"#))
    }

    @Test func aCleanRunSaysNothingOfItsCollector() {
        var s = Script()
        s.events.append(Self.record(.start, pid: 41, at: s.t))
        s.hello(0..<2, world: 2)
        s.at(1)
        for r in 0..<2 { s.emit(r, .bye(code: 0, error: nil)) }
        s.events.append(Self.record(.end, pid: 41, at: s.t))
        let report = RunReport(model: Fixtures.model(s.events), collectorGone: true)
        #expect(!report.diagnosis.contains { $0.contains("collector") }, "\(report.diagnosis)")
        #expect(report.collectors.count == 1 && report.collectors[0].ended)
    }

    @Test func anEndFromAnotherCollectorDoesNotEndTheCurrentOne() {
        var s = Script()
        s.events.append(Self.record(.start, pid: 41, at: s.t))
        s.events.append(Self.record(.end, pid: 7, at: s.t + 1))
        #expect(Fixtures.model(s.events).collectorSessions.first?.endedAt == nil)
    }
}
