import Testing
@testable import RanktopModel
import RanktopProtocol

/// The run's charts' data: per step, min / median / max across ranks, complete once the run is a
/// few steps further, halved in resolution when full.
@Suite struct StepSeriesTests {
    @Test func eachStepIsTheSpreadAcrossRanks() {
        var series = StepSeries(capacity: 64)
        for step in 1...10 {
            for value in [1.0, 1.1, 1.5] { series.add(value * Double(step), step: step, ranks: 3) }
        }
        let points = series.points
        #expect(points.map(\.firstStep) == Array(1...10))
        #expect(points[2] == StepSeries.Point(firstStep: 3, lastStep: 3, min: 3, median: 3.3000000000000003, max: 4.5, ranks: 3))
        series.add(99, step: 3, ranks: 3)
        #expect(series.points[2].max == 4.5, "a value for a finished step is dropped")
        // Two of three ranks at step 11: shown as it stands, and still open.
        series.add(1, step: 11, ranks: 3)
        series.add(2, step: 11, ranks: 3)
        #expect(series.points.last?.max == 2)
        series.add(7, step: 11, ranks: 3)
        #expect(series.points.last?.max == 7 && series.points.last?.ranks == 3)
        // A rank far behind does not hold the chart back: a step completes once 64 steps old.
        series.add(1, step: 12, ranks: 3)
        series.add(1, step: 12 + StepSeries.completeAfter, ranks: 3)
        #expect(series.points.contains { $0.firstStep == 12 && $0.ranks == 1 })
    }

    @Test func aFullSeriesMergesNeighboursAndKeepsTheExtremes() {
        var series = StepSeries(capacity: 8)
        for step in 1...40 { series.add(step == 13 ? 50 : 1, step: step, ranks: 1) }
        let points = series.points
        #expect(points.count <= 8, "\(points.count)")
        #expect(points.first?.firstStep == 1 && points.last?.lastStep == 40)
        #expect(points.contains { $0.firstStep <= 13 && $0.lastStep >= 13 && $0.max == 50 }, "the spike survives the merges")
        // Contiguous and in order.
        for (a, b) in zip(points, points.dropFirst()) { #expect(b.firstStep == a.lastStep + 1) }
    }

    @Test func theLiveModelKeepsStepTimesAndLossTheReportsModelDoesNot() {
        var events: [Event] = []
        for r in 0..<2 {
            events.append(Event(rank: r, ts: 1000, seq: 0, .hello(Hello(run: "s", world: 2, localRank: r, localWorld: 2, node: "n", pid: r + 1, runtime: "t"))))
            for step in 1...8 {
                events.append(Event(rank: r, ts: 1000 + Double(step) * (r == 0 ? 1 : 2), seq: step, .progress(Progress(step: step, metrics: [Metric("loss", 1 / Double(step))]))))
            }
        }
        var live = RunModel(limits: .live)
        var report = RunModel(limits: .report)
        for event in events.sorted(by: { $0.ts < $1.ts }) {
            live.apply(event)
            report.apply(event)
        }
        let steps = live.stepTimeSeries.points
        #expect(steps.first?.firstStep == 2, "a step time needs a step before it")
        #expect(steps.first?.min == 1 && steps.first?.max == 2)
        #expect(live.lossSeries.points.last?.median == 0.125)
        #expect(report.stepTimeSeries.points.isEmpty && report.lossSeries.points.isEmpty)
    }

    @Test func eachCompletedCollectiveKeepsTheWaitItCostForTheCharts() {
        var live = RunModel(limits: .live)
        for r in 0..<2 { live.apply(Event(rank: r, ts: 1000, seq: 0, .hello(Hello(run: "s", world: 2, localRank: r, localWorld: 2, node: "n", pid: r + 1, runtime: "t")))) }
        for n in 1...3 {
            let t = 1000 + Double(n) * 10
            live.apply(Event(rank: 0, ts: t, seq: n * 2 - 1, .collectiveEnter(CollectiveEnter(group: "world", n: n, op: "all_reduce"))))
            live.apply(Event(rank: 1, ts: t + Double(n), seq: n * 2 - 1, .collectiveEnter(CollectiveEnter(group: "world", n: n, op: "all_reduce"))))
            for r in 0..<2 { live.apply(Event(rank: r, ts: t + Double(n), seq: n * 2, .collectiveExit(CollectiveExit(group: "world", n: n)))) }
        }
        #expect(live.completedCollectiveWaits.map(\.waitCaused) == [1, 2, 3])
        #expect(live.completedCollectiveWaits.last?.op == "all_reduce")
    }
}
