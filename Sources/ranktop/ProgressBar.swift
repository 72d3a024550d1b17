#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr for long reads, shown only for large inputs and redrawn at
/// most ten times a second so that drawing never costs more than the work.
struct ProgressBar {
    let label: String
    private var lastDraw = 0.0
    private var started = ProgressBar.clock()
    private var drawn = false
    static let minimumBytes = 32 << 20

    init(label: String) {
        self.label = label
    }

    mutating func update(done: Int, total: Int) {
        guard total >= ProgressBar.minimumBytes else { return }
        let now = ProgressBar.clock()
        guard now - lastDraw >= 0.1 || done >= total else { return }
        lastDraw = now
        let fraction = min(1, Double(done) / Double(max(total, 1)))
        let width = 30
        let filled = Int(fraction * Double(width))
        let rate = Double(done) / max(now - started, 0.001) / 1_048_576
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        Terminal.writeStderr("\r\(label) [\(bar)] \(Int(fraction * 100))% \(Int(rate)) MB/s ")
        drawn = true
    }

    mutating func finish() {
        if drawn { Terminal.writeStderr("\r\u{1B}[K") }
        drawn = false
    }

    private static func clock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
