import Foundation
import RanktopCollector
import RanktopModel
import RanktopProtocol
import RanktopEmitter

/// Viewer throughput: a log of `events` progress events is written through a collector first;
/// then an in-process viewer (`LocalRunSource`, what the dashboard of demo / launch / run reads)
/// takes it the way the dashboard's loop does: out of the source, across a lock (the dashboard's
/// inbox), into `RunModel.apply`. The clock runs from opening the source to the last event applied.
enum FollowBenchmark {
    static func run(events: Int) async throws {
        let scratch = try BenchScratch()
        defer { scratch.remove() }
        let (collector, _) = try await scratch.startCollector()
        var bytes: [UInt8] = []
        EventEncoder.encode(Event(rank: 0, ts: 1_764_374_400, seq: 0, .hello(Hello(
            run: "bench", world: 1, localRank: 0, localWorld: 1, node: "bench", pid: 1000, runtime: "bench"
        ))), into: &bytes)
        for seq in 1...events {
            EventEncoder.encode(Event(
                rank: 0, ts: 1_764_374_400.123456 + Double(seq) * 0.001, seq: seq,
                .progress(Progress(step: seq, total: events, metrics: [Metric("loss", 2.3125 - Double(seq % 1000) / 1000)]))
            ), into: &bytes)
        }
        let socket = try PosixSocket.connect(unixPath: scratch.path + "/c.sock", timeout: 5)
        try socket.sendAll(bytes, timeout: 60)
        let logPath = scratch.path + "/run.jsonl"
        while (try? Data(contentsOf: URL(fileURLWithPath: logPath)).count) ?? 0 < bytes.count {
            try await Task.sleep(for: .milliseconds(20))
        }

        let source = LocalRunSource(collector: collector)
        let inbox = NSLock()
        let start = DispatchTime.now()
        let applied = await Task.detached { () -> Int in
            var model = RunModel(limits: .live)
            var pending: [Event] = []
            var applied = 0
            for await batch in source.batches() {
                inbox.withLock { pending.append(contentsOf: batch) }
                for event in pending { model.apply(event) }
                applied += pending.count
                pending.removeAll(keepingCapacity: true)
                if applied > events { break }
            }
            return applied
        }.value
        let took = seconds(since: start)
        socket.close()
        await collector.stop()
        print(String(format: "follow: %d events from the log into the model in %.3f s (%.0f events/s)", applied, took, Double(applied) / took))
    }
}
