import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

/// D.18: once a run is over (every rank ended, or the log or collector ended), the dashboard
/// measures ages to the run's last event, not to a clock that keeps going or stopped elsewhere.
@Suite struct EndedRunTimesTests {
    let t0 = SyntheticRun.t0
    let week = 7 * 86400.0

    func ageColumn(_ screen: String, rank: Int) -> String? {
        let row = screen.split(separator: "\n").first { $0.hasPrefix("│") && $0.dropFirst().prefix(4).trimmingCharacters(in: .whitespaces) == "\(rank)" }
        return row?.dropLast().split(separator: " ").last.map(String.init)
    }

    @Test func test_D18_aRunWhoseRanksAllEnded_showsAgesToItsEnd_aWeekLater() {
        var model = RunModel(limits: .live)
        model.apply(Fixtures.hello(0, world: 2, ts: t0))
        model.apply(Fixtures.hello(1, world: 2, ts: t0))
        model.apply(Event(rank: 1, ts: t0 + 5, .bye(code: 0, error: nil)))
        model.apply(Event(rank: 0, ts: t0 + 20, .bye(code: 0, error: nil)))
        var d = Fixtures.dashboard()
        let screen = d.render(model: model, now: t0 + week, size: Size(width: 120, height: 40)).text()
        #expect(ageColumn(screen, rank: 1) == "15s", "\(screen)")
        #expect(ageColumn(screen, rank: 0) == "0ms", "\(screen)")
        #expect(screen.contains("ages to its end"), "\(screen)")
        #expect(screen.contains("elapsed 00:20"), "\(screen)")
    }

    @Test func test_D18_aReplayedLogThatEndedMidRun_measuresToTheEndOfTheLog() {
        var model = RunModel(limits: .live)
        model.apply(Fixtures.hello(0, world: 2, ts: t0))
        model.apply(Fixtures.hello(1, world: 2, ts: t0))
        model.apply(Event(rank: 0, ts: t0 + 190, .heartbeat))
        var d = Fixtures.dashboard(canControl: false)
        d.ended = "end of log"
        // A replay's clock stops wherever the replay was; the log's end is what counts.
        for clock in [t0 + 0.2, t0 + week] {
            let screen = d.render(model: model, now: clock, size: Size(width: 120, height: 40)).text()
            // Stale, and clipped to the column: "⚠3m10".
            #expect(ageColumn(screen, rank: 1)?.contains("3m10") == true, "\(screen)")
            #expect(ageColumn(screen, rank: 0) == "0ms", "\(screen)")
            #expect(screen.contains("end of log, ages to its end"), "\(screen)")
        }
    }

    @Test func test_D18_aLiveRunStillGoing_measuresToTheClock() {
        var model = RunModel(limits: .live)
        model.apply(Fixtures.hello(0, world: 1, ts: t0))
        var d = Fixtures.dashboard()
        let screen = d.render(model: model, now: t0 + 3, size: Size(width: 120, height: 40)).text()
        #expect(ageColumn(screen, rank: 0) == "3.0s", "\(screen)")
        #expect(!screen.contains("ages to its end"))
    }
}
