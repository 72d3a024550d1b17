import Foundation
import RanktopCollector
import RanktopModel

/// The replay's first pass and its seeks on a big log (docs/benchmarks.md, "Replay"): events/s
/// of the first pass, the memory its checkpoints hold, and the latency of seeks to random
/// moments, forward and back, and of one-event steps back.
enum ReplaySeekBenchmark {
    static func run(path: String, seeks: Int) throws {
        let rssBefore = residentBytes()
        let timeline = try ReplayTimeline(path: path)
        let started = Date()
        timeline.runFirstPass()
        let passSeconds = Date().timeIntervalSince(started)
        let found = timeline.found
        let rssAfter = residentBytes()
        print(String(format: "first pass: %d events in %.2f s: %.2fM events/s; %d bad lines", found.events, passSeconds, Double(found.events) / passSeconds / 1e6, found.rejected))
        print("checkpoints: \(found.checkpoints.count), every \(found.spacing) events; estimated \(found.heldBytes >> 20) MiB; resident memory grew \((rssAfter - rssBefore) >> 20) MiB over the pass")
        print("notable moments: \(found.moments.count)")
        guard let start = found.firstTs, let end = found.lastTs else { return }
        var random = SystemRandomNumberGenerator()
        var seekTimes: [Double] = []
        for _ in 0..<seeks {
            let target = start + Double.random(in: 0...1, using: &random) * (end - start)
            let t0 = DispatchTime.now().uptimeNanoseconds
            timeline.seek(to: target)
            seekTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        var stepTimes: [Double] = []
        for _ in 0..<max(1, seeks / 4) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            timeline.step(by: -1)
            stepTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        report("seek to a random moment", seekTimes)
        report("step one event back", stepTimes)
        print("resident memory after the seeks: \(residentBytes() >> 20) MiB")
    }

    static func report(_ label: String, _ times: [Double]) {
        let sorted = times.sorted()
        func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        print(String(format: "%@: %d runs, p50 %.1f ms, p99 %.1f ms, max %.1f ms", label, sorted.count, at(0.5), at(0.99), sorted.last ?? 0))
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }
}
