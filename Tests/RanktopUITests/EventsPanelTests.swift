import RanktopModel
import RanktopProtocol
import RanktopUI
import Testing

/// The events panel: time order whatever the arrival order, the run's event count in its title,
/// and `r` hiding the routine kinds.
@Suite struct EventsPanelTests {
    func model() -> RunModel {
        var model = RunModel(limits: .live)
        let t = 1_800_000_000.0
        model.apply(Fixtures.hello(0, world: 2, ts: t))
        model.apply(Fixtures.hello(1, world: 2, ts: t))
        // Arrival order is not time order: rank 1's batch lands after rank 0's.
        model.apply(Event(rank: 0, ts: t + 3, seq: 1, .log(level: .info, msg: "third")))
        model.apply(Event(rank: 1, ts: t + 1, seq: 1, .log(level: .info, msg: "first")))
        model.apply(Event(rank: 1, ts: t + 2, seq: 2, .progress(Progress(step: 4242))))
        model.apply(Event(rank: 1, ts: t + 2.5, seq: 3, .triggerCheck(n: 0, fired: false)))
        return model
    }

    func screen(_ dashboard: Dashboard) -> String {
        Fixtures.render(model(), now: 1_800_000_004, width: 160, height: 45, dashboard: dashboard).text()
    }

    @Test func eventsAreInTimeOrderAndTheTitleCountsTheRun() {
        let text = screen(Fixtures.dashboard())
        let first = text.range(of: "first"), step = text.range(of: "r1    step 4242"), third = text.range(of: "third")
        #expect(first != nil && step != nil && third != nil, "\(text)")
        if let first, let step, let third { #expect(first.lowerBound < step.lowerBound && step.lowerBound < third.lowerBound) }
        #expect(text.contains("EVENTS 6 "), "\(text)")
    }

    @Test func rHidesProgressAndUnfiredChecks() {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.handle(.key(.char("r")), model: model(), now: 1_800_000_004)
        #expect(dashboard.hideRoutineEvents)
        let text = screen(dashboard)
        #expect(text.contains("first") && text.contains("third"))
        #expect(!text.contains("r1    step 4242") && !text.contains("check #0"), "\(text)")
        #expect(text.contains("routine hidden"))
    }
}
