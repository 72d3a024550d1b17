import RanktopModel
import RanktopProtocol
import RanktopUI
import Testing
@testable import RanktopUI

/// The chart widget and the charts overlay (`c`), as rendered canvases.
@Suite struct ChartTests {
    /// Two ranks, 60 steps: rank 1 takes twice as long from step 30, loss decays.
    func model() -> RunModel {
        var model = RunModel(limits: .live)
        var events: [Event] = []
        let t0 = 1_800_000_000.0
        for r in 0..<2 {
            events.append(Fixtures.hello(r, world: 2, ts: t0))
            var ts = t0
            for step in 1...60 {
                ts += r == 1 && step >= 30 ? 2 : 1
                events.append(Event(rank: r, ts: ts, seq: step, .progress(Progress(step: step, metrics: [Metric("loss", 2.5 / Double(step) + 0.3)]))))
            }
        }
        for event in events.sorted(by: { $0.ts < $1.ts }) { model.apply(event) }
        return model
    }

    func render(glyphs: Glyphs, width: Int, height: Int) -> String {
        var dashboard = Fixtures.dashboard(glyphs: glyphs)
        let model = model()
        let now = model.lastTs!
        _ = dashboard.handle(.key(.char("c")), model: model, now: now)
        return dashboard.render(model: model, now: now, size: Size(width: width, height: height)).text()
    }

    @Test func theChartsShowStepTimeLossAndWaitsInBraille_at120x40() throws {
        let text = render(glyphs: .unicode, width: 120, height: 40)
        #expect(text.contains("CHARTS") && text.contains("STEP TIME") && text.contains("LOSS"))
        #expect(text.unicodeScalars.contains { $0.value > 0x2800 && $0.value <= 0x28FF }, "braille cells")
        #expect(text.contains("step 2") && text.contains("step 60"), "the x axis is labelled")
        #expect(text.contains("2.0s") && text.contains("1.0s"), "the y axis at the right resolution")
        try Golden.check(text, named: "charts-120x40")
    }

    @Test func inASCIITheChartsUseNoCharacterOutsideASCII_at80x24() throws {
        let text = render(glyphs: .ascii, width: 80, height: 24)
        #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(text.contains(":") && text.contains("-"))
        try Golden.check(text, named: "charts-80x24-ascii")
    }

    @Test func cClosesTheCharts() {
        var dashboard = Fixtures.dashboard()
        let model = model()
        _ = dashboard.handle(.key(.char("c")), model: model, now: model.lastTs!)
        #expect(dashboard.overlay == .charts)
        _ = dashboard.handle(.key(.char("c")), model: model, now: model.lastTs!)
        #expect(dashboard.overlay == nil)
    }

    @Test func aSqueezedBandKeepsItsExtremes() {
        let band = (0..<100).map { i in Chart.Column(min: 1, median: i == 57 ? 9 : 1, max: i == 57 ? 10 : 1) }
        let squeezed = Chart.resample(band, to: 10)
        #expect(squeezed.count == 10)
        #expect(squeezed.map(\.max).max() == 10 && squeezed.map(\.min).min() == 1)
    }
}
