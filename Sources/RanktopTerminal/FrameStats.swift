import Foundation

/// Frame timings, written as JSON on exit when `RANKTOP_DASHBOARD_STATS` names a file: the
/// benchmark of the running dashboard reads it (docs/benchmarks.md).
struct FrameStats {
    private var frames = 0
    private var buildTotal = 0.0
    private var buildMax = 0.0
    private var drawTotal = 0.0
    /// From the event reaching the dashboard thread's inbox to its frame on screen.
    private var latencies: [Double] = []
    /// From the event's own timestamp (the emitter's clock) to its frame on screen: the whole
    /// pipeline, meaningful for a live run on this host.
    private var endToEnd: [Double] = []
    private let startedWall = Date().timeIntervalSince1970

    mutating func record(build: Double, draw: Double, latency: Double?, endToEnd: Double?) {
        frames += 1
        buildTotal += build
        buildMax = max(buildMax, build)
        drawTotal += draw
        if let latency, latencies.count < 100_000 { latencies.append(latency) }
        if let endToEnd, self.endToEnd.count < 100_000 { self.endToEnd.append(endToEnd) }
    }

    func write(to path: String?) {
        guard let path, !path.isEmpty else { return }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let fields: [(String, Double)] = [
            ("frames", Double(frames)),
            ("wall_seconds", Date().timeIntervalSince1970 - startedWall),
            ("cpu_seconds", cpu),
            ("build_ms_mean", frames > 0 ? buildTotal / Double(frames) * 1000 : 0),
            ("build_ms_max", buildMax * 1000),
            ("draw_ms_mean", frames > 0 ? drawTotal / Double(frames) * 1000 : 0),
            ("inbox_to_screen_ms_p50", percentile(latencies, 0.5) * 1000),
            ("inbox_to_screen_ms_p99", percentile(latencies, 0.99) * 1000),
            ("inbox_to_screen_ms_max", (latencies.max() ?? 0) * 1000),
            ("event_to_screen_ms_p50", percentile(endToEnd, 0.5) * 1000),
            ("event_to_screen_ms_p99", percentile(endToEnd, 0.99) * 1000),
            ("event_to_screen_ms_max", (endToEnd.max() ?? 0) * 1000),
        ]
        let json = "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n"
        try? json.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
