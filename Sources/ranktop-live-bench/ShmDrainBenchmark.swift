import Foundation
import RanktopCollector
import RanktopProtocol

/// How fast one reader drains rings (docs/benchmarks.md, "Shared memory"): rings filled by this
/// process, then drained on one thread, twice: the raw drain (stamps checked, bytes copied, seq
/// read) and the drain into a collector (every record decoded and validated by its `RankStream`,
/// and logged). Side by side, the same records parsed by Foundation's `JSONSerialization`.
enum ShmDrainBenchmark {
    static func run(ranks: Int, perRank: Int) async throws {
        let name = "drain-bench-\(getpid())"
        let segment = try ShmSegment.openOrCreate(name: name, rankCapacity: ranks, ringSlots: perRank)
        defer { segment.unlink() }
        var total = 0
        for index in 0..<ranks {
            let area = segment.area(index)
            area.claim(pid: Int(getpid()), rank: index)
            var line: [UInt8] = []
            let hello = Event(rank: index, ts: 1, seq: 0, .hello(Hello(run: "bench", world: ranks, localRank: index, localWorld: ranks, node: "n", pid: Int(getpid()), runtime: "bench")))
            EventEncoder.encode(hello, into: &line)
            line.removeLast()
            _ = line.withUnsafeBytes { area.write(record: $0) }
            for seq in 1..<perRank {
                line.removeAll(keepingCapacity: true)
                let event = Event(rank: index, ts: 1_764_374_400 + Double(seq) * 0.001, seq: seq, .progress(Progress(step: seq, total: 100_000, metrics: [Metric("loss", 1.25)])))
                EventEncoder.encode(event, into: &line)
                line.removeLast()
                _ = line.withUnsafeBytes { area.write(record: $0) }
            }
            total += perRank
        }
        print("\(ranks) rings of \(perRank) records (\(total) records)")

        var bytes = 0
        let rawStart = MonotonicClock.now
        for index in 0..<ranks {
            var reader = ShmAreaReader(area: segment.area(index))
            reader.drain { bytes += $0.count }
        }
        let raw = MonotonicClock.now - rawStart
        print(String(format: "raw drain (stamps, copy, seq):      %.1f M records/s  (%.0f MB/s)", Double(total) / raw / 1e6, Double(bytes) / raw / 1e6))

        let scratch = try BenchScratch()
        defer { scratch.remove() }
        var configuration = CollectorConfiguration(
            listen: [.sharedMemory(name: name)], logPath: scratch.path + "/drain.jsonl", runID: "bench", silenceTimeout: 3600
        )
        configuration.sharedMemory.drainOnce = true
        let once = try Collector(configuration: configuration)
        let collectorStart = MonotonicClock.now
        try await once.start()
        let intoCollector = MonotonicClock.now - collectorStart
        await once.stop()
        print(String(format: "into the collector (decode, log):   %.2f M records/s", Double(total) / intoCollector / 1e6))

        // What a reader without ranktop's decoder would pay per record: Foundation's JSON parser.
        var reader = ShmAreaReader(area: segment.area(0))
        var records: [Data] = []
        reader.drain { records.append(Data($0)) }
        let parseStart = MonotonicClock.now
        for record in records { _ = try JSONSerialization.jsonObject(with: record) }
        let parse = MonotonicClock.now - parseStart
        print(String(format: "(for reference: JSONSerialization of the same records: %.2f M records/s)", Double(records.count) / parse / 1e6))
    }
}
