import Foundation
import RanktopCollector
import RanktopEmitter
import RanktopProtocol

/// A slow viewer and churn (docs/reliability.md): a viewer that says hello and never reads, while
/// `cycles` rank connections each connect, say hello, send a few events and close. The
/// collector's resident memory is printed as it goes: it must stay flat.
enum ChurnBenchmark {
    static func run(cycles: Int) async throws {
        let scratch = try BenchScratch()
        defer { scratch.remove() }
        let (collector, address) = try await scratch.startCollector()
        guard case let .unix(path) = address else { return }
        let viewer = try PosixSocket.connect(unixPath: path, timeout: 5)
        try viewer.sendAll(Array(#"{"kind":"viewer","v":1}"#.utf8) + [0x0A], timeout: 5)
        let start = DispatchTime.now()
        let baseline = ReplaySeekBenchmark.residentBytes()
        print("churn: \(cycles) connect/hello/close cycles with a viewer that never reads; resident memory (MiB):")
        print(String(format: "  %6d cycles: %.1f", 0, Double(baseline) / 1_048_576))
        var refused = 0
        var backoffs = 0
        for cycle in 1...cycles {
            let rank = cycle % 64
            // A Unix socket's accept queue fills when connects outrun the accepts: back off and
            // retry (ranks reconnecting do the same), counting it.
            var socket: PosixSocket?
            for _ in 0..<1000 {
                socket = try? PosixSocket.connect(unixPath: path, timeout: 5)
                if socket != nil { break }
                backoffs += 1
                usleep(1000)
            }
            guard let socket else {
                refused += 1
                continue
            }
            var line = Array(#"{"kind":"hello","rank":\#(rank),"ts":\#(WallClock.now),"seq":0,"v":1,"run":"churn-\#(cycle)","world":64,"local_rank":0,"local_world":1,"node":"n","pid":\#(100_000 + cycle),"runtime":"bench"}"#.utf8) + [0x0A]
            for step in 1...3 {
                line += Array(#"{"kind":"progress","rank":\#(rank),"ts":\#(WallClock.now),"seq":\#(step),"step":\#(step)}"#.utf8) + [0x0A]
            }
            do { try socket.sendAll(line, timeout: 5) } catch { refused += 1 }
            socket.close()
            if cycle % (cycles / 10) == 0 {
                print(String(format: "  %6d cycles: %.1f", cycle, Double(ReplaySeekBenchmark.residentBytes()) / 1_048_576))
            }
        }
        try? await Task.sleep(for: .seconds(2))
        let stats = collector.statistics
        print(String(format: "after %.1f s: %.1f MiB resident; collector accepted %d lines, %d connections seen, %d connected now; %d cycles refused or cut, %d connect retries",
                     seconds(since: start), Double(ReplaySeekBenchmark.residentBytes()) / 1_048_576, stats.acceptedLines, stats.connections, stats.connectedRanks, refused, backoffs))
        viewer.close()
        await collector.stop()
    }
}
