import Foundation
import RanktopModel
import RanktopProtocol
import RanktopCollector
import RanktopEmitter

/// Emit-to-model latency: a rank's `Emitter` (the Swift runtime's) emits progress events at
/// `rate` per second to a collector on a Unix socket; an in-process viewer (`LocalRunSource`, what
/// the dashboard of `ranktop demo` reads) folds them into a `RunModel`. Latency is the wall clock
/// when the model has applied an event minus the event's own `ts`, stamped at `emit`.
enum LatencyBenchmark {
    static func run(events: Int, rate: Int, raw: Bool) async throws {
        let scratch = try BenchScratch()
        defer { scratch.remove() }
        let (collector, address) = try await scratch.startCollector()

        let source = LocalRunSource(collector: collector)
        // Detached: the emitting loop below blocks its thread between events, as a training loop does.
        let consumer = Task.detached { () -> [Double] in
            var model = RunModel(limits: .live)
            var latencies: [Double] = []
            latencies.reserveCapacity(events)
            for await batch in source.batches() {
                for event in batch {
                    model.apply(event)
                    if event.kind == .progress { latencies.append(WallClock.now - event.ts) }
                }
                if latencies.count >= events { break }
            }
            return latencies
        }

        let hello = Hello(run: "bench", world: 1, localRank: 0, localWorld: 1, node: "bench", pid: Int(getpid()), runtime: "bench")
        let send: (EventBody) -> Void
        let close: () -> Void
        if raw {
            // Without the emitter: one write(2) per event on the caller's thread.
            let socket = try PosixSocket.connect(unixPath: scratch.path + "/c.sock", timeout: 5)
            var seq = 0
            send = { body in
                let line = Array(EventEncoder.line(Event(rank: 0, ts: WallClock.now, seq: seq, body)).utf8)
                seq += 1
                try? socket.sendAll(line, timeout: 5)
            }
            send(.hello(hello))
            close = { socket.close() }
        } else {
            let emitter = try Emitter(address: address, rank: 0, hello: hello)
            send = { emitter.emit($0) }
            close = { emitter.close() }
        }
        let interval = 1.0 / Double(rate)
        let start = MonotonicClock.now
        let startWall = WallClock.now
        for step in 1...events {
            let due = start + Double(step) * interval
            let wait = due - MonotonicClock.now
            if wait > 0 { usleep(UInt32(wait * 1e6)) }
            send(.progress(Progress(step: step, metrics: [Metric("loss", 1.0)])))
        }
        let latencies = try await withTimeout(seconds: 60) { await consumer.value }.sorted()
        let drained = WallClock.now - startWall
        close()
        await collector.stop()
        let micro = { (value: Double) in String(format: "%.0f us", value * 1e6) }
        print("latency: \(latencies.count) progress events at \(rate)/s, \(raw ? "write(2) per event" : "Emitter.emit") -> Unix socket -> collector -> log -> in-process viewer -> RunModel")
        print("latency: p50 \(micro(percentile(latencies, 0.5))), p90 \(micro(percentile(latencies, 0.9))), p99 \(micro(percentile(latencies, 0.99))), max \(micro(latencies.last ?? .nan))")
        // At a rate above what the path sustains this is its throughput: the hops per event show here.
        print(String(format: "latency: all %d in the model %.3f s after the first was sent (%.0f events/s)", latencies.count, drained, Double(latencies.count) / drained))
    }

    private static func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                return nil
            }
            guard let first = try await group.next(), let value = first else { throw CancellationError() }
            group.cancelAll()
            return value
        }
    }
}
