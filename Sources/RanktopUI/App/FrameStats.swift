/// Frame timings, written as JSON on exit when `RANKTOP_DASHBOARD_STATS` names a file: the
/// benchmark of the running dashboard reads it (docs/benchmarks.md).
public struct FrameStats: Sendable {
    public private(set) var frames = 0
    private var buildTotal = 0.0
    private var buildMax = 0.0
    private var drawTotal = 0.0
    /// From the event reaching the app's inbox to its frame on screen.
    private var latencies: [Double] = []
    /// From the event's own timestamp (the emitter's clock) to its frame on screen: the whole
    /// pipeline, meaningful for a live run on this host.
    private var endToEnd: [Double] = []

    public init() {}

    mutating func record(build: Double, draw: Double, latency: Double?, endToEnd: Double?) {
        frames += 1
        buildTotal += build
        buildMax = max(buildMax, build)
        drawTotal += draw
        if let latency, latencies.count < 100_000 { latencies.append(latency) }
        if let endToEnd, self.endToEnd.count < 100_000 { self.endToEnd.append(endToEnd) }
    }

    /// One JSON object; the process's CPU and wall time come from the backend, which can ask the OS.
    public func json(wallSeconds: Double, cpuSeconds: Double) -> String {
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
        }
        let fields: [(String, Double)] = [
            ("frames", Double(frames)),
            ("wall_seconds", wallSeconds),
            ("cpu_seconds", cpuSeconds),
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
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n"
    }
}
