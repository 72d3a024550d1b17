import Testing
@testable import RanktopModel
import RanktopProtocol

/// Episodes for the hooks: one alert when a stall begins however many snapshots it lasts, one
/// per failed or lost rank, one at the end.
@Suite struct RunAlertsTests {
    @Test func aStallIsOneAlertUntilItEnds_aSecondStallIsAnother_failuresAndTheEndOnceEach() {
        var s = Script()
        s.hello(0..<2, world: 2)
        for n in 1...20 {
            s.at(0.1)
            for r in 0..<2 { s.emit(r, .progress(Progress(step: n))) }
        }
        var alerts = RunAlerts()
        func judge(_ now: Double) -> [RunAlert.Kind] {
            let model = Fixtures.model(s.events)
            return alerts.update(RunSnapshot(model: model, now: now), model: model).map(\.kind)
        }
        #expect(judge(s.t + 1) == [])
        // No progress for longer than the 10 s floor: stalled, for as many snapshots as it lasts.
        #expect(judge(s.t + 11) == [.stall])
        #expect(judge(s.t + 12) == [])
        #expect(judge(s.t + 30) == [])
        // Progress again: the episode is over; the next stall is a new one.
        s.at(31)
        for r in 0..<2 { s.emit(r, .progress(Progress(step: 21))) }
        #expect(judge(s.t + 1) == [])
        #expect(judge(s.t + 11) == [.stall])
        // Rank 1 fails: one failure alert, not one a snapshot.
        s.at(12)
        s.emit(1, .bye(code: 1, error: "CUDA error"))
        #expect(judge(s.t) == [.failure])
        #expect(judge(s.t + 1) == [])
        // Rank 0 exits: the run is over, once.
        s.emit(0, .bye(code: 0, error: nil))
        let model = Fixtures.model(s.events)
        let last = alerts.update(RunSnapshot(model: model, now: s.t + 1), model: model)
        #expect(last.map(\.kind) == [.end])
        #expect(last.first?.ranks == [0, 1])
        #expect(last.first?.diagnosis.isEmpty == false)
        #expect(judge(s.t + 2) == [])
    }
}
