import Testing
@testable import RanktopModel
import RanktopProtocol

/// Issue 14, item 5: a rank's typical step time is kept by a sorted window instead of sorting its
/// recent step times on every progress event; it must be exactly what the sort gave.
@Suite struct SortedWindowTests {
    /// Random step times, with many repeats (equal values are where removal could pick wrongly),
    /// through a window of the rank's capacity: the median is always `StallPolicy.typicalStep`.
    @Test func theWindowsMedianIsTheSortedMedian() {
        var rng = SplitMix64(seed: 32)
        for capacity in [1, 2, 3, 4, 5, 31, 32, 33] {
            var history = BoundedHistory<Double>(capacity: capacity)
            var window = SortedWindow()
            for _ in 0..<3000 {
                let value = Int.random(in: 0..<3, using: &rng) == 0
                    ? Double(Int.random(in: 1...4, using: &rng)) / 8
                    : Double.random(in: 0...1, using: &rng) * [1e-9, 1, 1e6, .infinity].randomElement(using: &rng)!
                let evicted = history.count == history.capacity ? history.first : nil
                history.append(value)
                window.insert(value, evicting: evicted)
                #expect(window.values == history.sorted())
                #expect(window.median == StallPolicy.typicalStep(history))
            }
        }
    }

    /// Through the reducer: after every progress event, each rank's typical step time is the
    /// sorted median of its recent step times.
    @Test func theModelsTypicalStepIsTheMedianOfItsRecentSteps() {
        var rng = SplitMix64(seed: 7)
        var model = RunModel()
        var ts = Array(repeating: 1_764_374_400.0, count: 4)
        var steps = Array(repeating: 0, count: 4)
        for _ in 0..<2000 {
            let r = Int.random(in: 0..<4, using: &rng)
            ts[r] += [0.5, 0.25, 1, Double.random(in: 0.001...3, using: &rng)].randomElement(using: &rng)!
            steps[r] += Int.random(in: 0..<5, using: &rng) == 0 ? 2 : 1
            model.apply(Event(rank: r, ts: ts[r], .progress(Progress(step: steps[r]))))
            let info = model.rank(r)!
            #expect(info.typicalStepTime == StallPolicy.typicalStep(info.recentStepTimes))
        }
    }
}
