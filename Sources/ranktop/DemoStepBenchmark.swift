#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import Ranktop
import RanktopModel
import RanktopProtocol

/// `demo-rank --work-ms X --events-per-step N`: what a training step of the Swift runtime pays
/// for N events, measured in the running ranks (issue 10). Each step is a fixed amount of
/// arithmetic (calibrated to about X ms on this rank at start), the N events, and the trigger
/// check's all-reduce (which keeps the ranks in step, as DDP's gradient all-reduce does).
/// Segments with and without the N events alternate in the same processes, so the machine's
/// load moves both sides alike; rank 0 prints the medians, the ratio and the cost per event.
struct DemoStepBenchmark {
    let state: DistributedState
    let workMilliseconds: Double
    let events: Int
    let pairs: Int
    let stepsPerSegment: Int

    struct Result {
        var bare: [Double]
        var instrumented: [Double]
    }

    func run() throws -> Result {
        let iterations = calibrate()
        var result = Result(bare: [], instrumented: [])
        var step = 0
        // Warm-up: connections, caches, the collector's first reads.
        for _ in 0..<stepsPerSegment { _ = try oneStep(iterations: iterations, emitting: true, step: &step) }
        for pair in 0..<pairs {
            // Alternate which side goes first, so a drift in load favours neither.
            for instrumented in pair % 2 == 0 ? [false, true] : [true, false] {
                var times: [Double] = []
                for _ in 0..<stepsPerSegment {
                    times.append(try oneStep(iterations: iterations, emitting: instrumented, step: &step))
                }
                let median = DemoStepBenchmark.median(times)
                if instrumented { result.instrumented.append(median) } else { result.bare.append(median) }
            }
        }
        return result
    }

    private func oneStep(iterations: Int, emitting: Bool, step: inout Int) throws -> Double {
        let start = MonotonicClock.now
        DemoStepBenchmark.work(iterations)
        step += 1
        if emitting {
            for _ in 0..<events { state.progress(step: step) }
        }
        _ = try state.checkTrigger()
        return MonotonicClock.now - start
    }

    /// Iterations of `work` that take about `workMilliseconds` here.
    private func calibrate() -> Int {
        var iterations = 10_000
        func time(_ count: Int) -> Double {
            let start = MonotonicClock.now
            DemoStepBenchmark.work(count)
            return MonotonicClock.now - start
        }
        while time(iterations) < 0.05, iterations < 1 << 30 { iterations *= 4 }
        // The fastest of a few: a preempted run would make every step longer than asked.
        let seconds = (0..<5).map { _ in time(iterations) }.min() ?? 1
        return max(1, Int(Double(iterations) * workMilliseconds / 1000 / seconds))
    }

    /// Arithmetic the optimizer cannot remove: a dependent chain of multiply-adds.
    @inline(never)
    static func work(_ iterations: Int) {
        var value = 1.0
        for i in 0..<iterations { value = value * 1.000_000_1 + Double(i & 7) * 1e-9 }
        if value == 0 { print("") }
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
    }

    /// One line for people and one JSON object (`--json` readers take the last line).
    func summary(_ result: Result) -> String {
        let bare = DemoStepBenchmark.median(result.bare)
        let instrumented = DemoStepBenchmark.median(result.instrumented)
        let ratios = zip(result.instrumented, result.bare).map { $0 / $1 }
        let ratio = DemoStepBenchmark.median(ratios)
        let perEvent = events > 0 ? DemoStepBenchmark.median(zip(result.instrumented, result.bare).map { $0 - $1 }) / Double(events) : 0
        let ms = { (s: Double) in Format.fixed(s * 1000, decimals: 3) }
        var text = "step benchmark, rank \(state.rank) of \(state.worldSize): work \(workMilliseconds) ms, \(events) events a step, "
        text += "\(pairs) pairs of \(stepsPerSegment) steps: bare \(ms(bare)) ms (p90 \(ms(DemoStepBenchmark.quantile(result.bare, 0.9)))), "
        text += "instrumented \(ms(instrumented)) ms (p90 \(ms(DemoStepBenchmark.quantile(result.instrumented, 0.9)))), "
        let perEventText = (perEvent >= 0 ? "+" : "") + Format.fixed(perEvent * 1e6, decimals: 2)
        text += "ratio \(Format.fixed(ratio, decimals: 3))x, \(perEventText) us per event"
        var json = #"{"ranks":\#(state.worldSize),"work_ms":\#(workMilliseconds),"events":\#(events),"#
        json += #""bare_ms":\#(Format.fixed(bare * 1000, decimals: 4)),"instrumented_ms":\#(Format.fixed(instrumented * 1000, decimals: 4)),"#
        json += #""ratio":\#(Format.fixed(ratio, decimals: 4)),"us_per_event":\#(Format.fixed(perEvent * 1e6, decimals: 3))}"#
        return text + "\n" + json
    }
}
