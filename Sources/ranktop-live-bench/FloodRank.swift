import Foundation
import RanktopProtocol
import RanktopCollector
import RanktopEmitter

/// A rank whose training loop does nothing but report, through the real emitter, as fast as it
/// can (or at `rate` events per second) for `seconds`: the live tests' flooding rank and the
/// rank of the collector-restart test. Reads RANK, WORLD_SIZE and RANKTOP_ADDR like any rank.
/// Prints one JSON line at the end: what it emitted, what the emitter dropped, and how long the
/// slowest `emit` call held the training thread.
enum FloodRank {
    static func run(seconds: Double, rate: Int) {
        let environment = ProcessInfo.processInfo.environment
        let rank = Int(environment["RANK"] ?? "0") ?? 0
        let world = Int(environment["WORLD_SIZE"] ?? "1") ?? 1
        let hello = Hello(
            run: environment["RANKTOP_RUN"] ?? "flood", world: world, localRank: rank, localWorld: world,
            node: ProcessInfo.processInfo.hostName, pid: Int(getpid()), runtime: "ranktop-live-bench flood-rank"
        )
        guard let emitter = Emitter.fromEnvironment(rank: rank, hello: hello) else {
            print(#"{"error":"RANKTOP_ADDR is not set"}"#)
            exit(2)
        }
        let start = MonotonicClock.now
        let end = start + seconds
        var step = 0
        var slowest = 0.0
        var overMillisecond = 0
        while true {
            let now = MonotonicClock.now
            if now >= end { break }
            if rate > 0 {
                let due = start + Double(step) / Double(rate)
                if due > now { usleep(UInt32(min((due - now) * 1e6, 1e6))) }
            }
            step += 1
            let before = MonotonicClock.now
            emitter.emit(.progress(Progress(step: step, metrics: [Metric("loss", 1.0 / Double(step))])))
            let took = MonotonicClock.now - before
            if took > slowest { slowest = took }
            if took > 0.001 { overMillisecond += 1 }
        }
        emitter.emit(.bye(code: 0, error: nil))
        emitter.close(timeout: 5)
        let statistics = emitter.statistics
        print(String(
            format: #"{"emitted":%d,"dropped":%d,"sent_through":%d,"connections":%d,"slowest_emit_us":%.1f,"emits_over_1ms":%d}"#,
            step, statistics.dropped, statistics.sentThrough, statistics.connections, slowest * 1e6, overMillisecond
        ))
    }
}
