import Foundation
import RanktopProtocol
import RanktopCollector
import RanktopEmitter

/// Collector ingest: `connections` ranks on Unix sockets each send their share of `events`
/// progress events as fast as the socket takes them; the clock runs from the first byte to the
/// collector having validated every line and appended it to its log file.
enum IngestBenchmark {
    /// `external`: only send, to another collector listening at that Unix socket path (for the
    /// comparison in docs/benchmarks.md); it measures itself.
    static func run(connections: Int, events: Int, external: String?) async throws {
        let scratch = try BenchScratch()
        defer { scratch.remove() }
        let address = Address.unix(path: external ?? scratch.path + "/c.sock")
        let collector = try Collector(configuration: CollectorConfiguration(
            listen: [.unix(path: scratch.path + "/c.sock")], logPath: scratch.path + "/run.jsonl", runID: "bench"
        ))
        if external == nil { try await collector.start() }

        // Every line is encoded up front so that the senders cost as little CPU as possible: on
        // two cores they share the machine with the collector.
        let perConnection = events / connections
        var payloads: [[UInt8]] = []
        var sampleLine = ""
        for rank in 0..<connections {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(perConnection * 120)
            EventEncoder.encode(Event(rank: rank, ts: 1_764_374_400, seq: 0, .hello(Hello(
                run: "bench", world: connections, localRank: rank, localWorld: connections, node: "bench", pid: 1000 + rank, runtime: "bench"
            ))), into: &bytes)
            for seq in 1...perConnection {
                EventEncoder.encode(Event(
                    rank: rank, ts: 1_764_374_400.123456 + Double(seq) * 0.001, seq: seq,
                    .progress(Progress(step: seq, total: perConnection, metrics: [Metric("loss", 2.3125 - Double(seq % 1000) / 1000)]))
                ), into: &bytes)
            }
            if rank == 0 { sampleLine = String(decoding: bytes[(bytes.firstIndex(of: 0x0A)! + 1)...].prefix { $0 != 0x0A }, as: UTF8.self) }
            payloads.append(bytes)
        }
        let totalLines = connections * (perConnection + 1)
        let totalBytes = payloads.reduce(0) { $0 + $1.count }
        print("ingest: \(connections) Unix-socket connections, \(totalLines) lines, \(totalBytes / 1_000_000) MB; a line looks like:")
        print("  \(sampleLine)")

        let sockets = try payloads.indices.map { _ in try PosixSocket.connect(unixPath: scratchSocket(address), timeout: 5) }
        let start = DispatchTime.now()
        let group = DispatchGroup()
        for (socket, payload) in zip(sockets, payloads) {
            group.enter()
            Thread.detachNewThread {
                try? socket.sendAll(payload, timeout: 600)
                group.leave()
            }
        }
        if external != nil {
            group.wait()
            print(String(format: "ingest: sent %d lines in %.3f s", totalLines, seconds(since: start)))
            for socket in sockets { socket.close() }
            return
        }
        while collector.statistics.acceptedLines < totalLines {
            try await Task.sleep(for: .milliseconds(1))
            if seconds(since: start) > 600 { break }
        }
        let elapsed = seconds(since: start)
        group.wait()
        let accepted = collector.statistics.acceptedLines
        print(String(format: "ingest: %d lines accepted and logged in %.3f s = %.0f events/s (%.0f MB/s)",
                     accepted, elapsed, Double(accepted) / elapsed, Double(totalBytes) / elapsed / 1e6))
        for socket in sockets { socket.close() }
        await collector.stop()
    }

    private static func scratchSocket(_ address: Address) -> String {
        if case let .unix(path) = address { return path }
        return ""
    }
}
