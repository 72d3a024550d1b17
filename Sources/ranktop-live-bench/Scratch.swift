import Foundation
import RanktopCollector
import RanktopProtocol

/// A fresh directory for the benchmark's socket and log, removed at exit.
struct BenchScratch {
    let path = "/tmp/rtbench-\(getpid())"

    init() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A collector listening on `c.sock` here and logging to `run.jsonl` here, started.
    func startCollector() async throws -> (Collector, Address) {
        let address = Address.unix(path: path + "/c.sock")
        let collector = try Collector(configuration: CollectorConfiguration(listen: [address], logPath: path + "/run.jsonl", runID: "bench"))
        try await collector.start()
        return (collector, address)
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}
