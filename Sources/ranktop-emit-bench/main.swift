// Cost of reporting one event on the training thread, for docs/benchmarks.md ("Emit cost").
//
//   swift build -c release --product ranktop-emit-bench && .build/release/ranktop-emit-bench
//   .build/release/ranktop-emit-bench --stalls 10    # the longest call per path and collector (StallMatrix.swift)
//
// Every row is timed on the calling thread with the same method as the Python adapter's bench:
// batches of 100 calls followed by a 2 ms pause (a training step's compute), the per-call time of
// a batch is its time / 100, and the figure is the median (and 90th percentile) over 300 batches.
// A second column times single calls one by one (50 us apart) for the per-call median and p99.
// The collector stand-in is a separate process (this binary with --drain) reading and discarding
// a Unix socket, so the emitter's writer thread really sends.
import Foundation
import Ranktop
import RanktopProtocol
import RanktopEmitter

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--drain" {
    Drain.run(path: CommandLine.arguments[2])
}
// The stall matrix (StallMatrix.swift) and its collector and reader stand-ins.
// `--stalls SECONDS [unix-stopped,shm-flooded,...]`: every cell, or the named ones.
if CommandLine.arguments.count >= 3, CommandLine.arguments[1] == "--stalls", let seconds = Double(CommandLine.arguments[2]) {
    let only = CommandLine.arguments.count > 3 ? Set(CommandLine.arguments[3].split(separator: ",").map(String.init)) : nil
    try StallMatrix.run(seconds: seconds, only: only)
    exit(0)
}
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--slow-drain" {
    StallReaders.slowDrain(path: CommandLine.arguments[2])
}
if CommandLine.arguments.count >= 3, CommandLine.arguments[1] == "--shm-reader" {
    StallReaders.shmReader(name: CommandLine.arguments[2], slow: CommandLine.arguments.count > 3 && CommandLine.arguments[3] == "slow")
}
// `--shm-loop N`: N shared-memory emits in a tight loop, for a profiler (perf record).
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--shm-loop", let count = Int(CommandLine.arguments[2]) {
    let name = "emit-loop-\(getpid())"
    let hello = Hello(run: "loop", world: 1, localRank: 0, localWorld: 1, node: "n", pid: Int(getpid()), runtime: "bench")
    let shared = try Emitter(address: .sharedMemory(name: name), rank: 0, hello: hello)
    let start = MonotonicClock.now
    for n in 0..<count { shared.emit(.barrierExit(n: n)) }
    print(String(format: "%.1f ns per emit", (MonotonicClock.now - start) / Double(count) * 1e9))
    unlink(ShmSegment.path(name: name))
    exit(0)
}

let socketPath = "/tmp/ranktop-emit-bench-\(getpid()).sock"
let drain = Process()
drain.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
drain.arguments = ["--drain", socketPath]
try drain.run()
while !FileManager.default.fileExists(atPath: socketPath) { usleep(10_000) }
defer {
    drain.terminate()
    unlink(socketPath)
}

let hello = Hello(run: "bench", world: 1, localRank: 0, localWorld: 1, node: "bench", pid: Int(getpid()), runtime: "bench")
let emitter = try Emitter(address: .unix(path: socketPath), rank: 0, hello: hello)
while !emitter.statistics.connected { usleep(1_000) }

let reporting = try DistributedState(environment: ["RANKTOP_ADDR": "unix:\(socketPath)"])
let silent = try DistributedState(environment: [:])
let absent = try Emitter(
    address: .unix(path: "/tmp/ranktop-emit-bench-nobody.sock"), rank: 0, hello: hello,
    options: EmitterOptions(queueEvents: 1024, initialBackoff: 3600))

// Shared memory: the event is encoded and stored into the rank's ring on this thread.
let segmentName = "emit-bench-\(getpid())"
let shared = try Emitter(address: .sharedMemory(name: segmentName), rank: 0, hello: hello)
defer { unlink(ShmSegment.path(name: segmentName)) }

var rows: [Measurement] = []
rows.append(measure("`Emitter.emit(.progress(step, metrics: [loss]))`, sent to the collector") { step in
    emitter.emit(.progress(Progress(step: step, metrics: [Metric("loss", 1.25)])))
})
rows.append(measure("`Emitter.emit(.progress(step, metrics: [loss]))`, shared memory (`shm://`)") { step in
    shared.emit(.progress(Progress(step: step, metrics: [Metric("loss", 1.25)])))
})
rows.append(measure("`Emitter.emit(.barrierExit(n))`, the smallest event") { step in
    emitter.emit(.barrierExit(n: step))
})
rows.append(measure("`Emitter.emit(.barrierExit(n))`, shared memory") { step in
    shared.emit(.barrierExit(n: step))
})
rows.append(measure("`Emitter.emit(.barrierEnter(n, name))` + state record, shared memory") { step in
    shared.emit(.barrierEnter(BarrierEnter(n: step, name: "save")))
})
rows.append(measure("`state.progress(step:total:metrics: [\"loss\", \"lr\"])`, runtime API, reporting") { step in
    reporting.progress(step: step, total: 1_000_000, metrics: ["loss": 1.25, "lr": 3e-4])
})
rows.append(measure("`state.checkTrigger()`, one process, reporting (1 event)") { _ in
    _ = try? reporting.checkTrigger()
})
rows.append(measure("`state.waitForEveryone(name:)`, one process, reporting (2 events + where-am-I frame)") { _ in
    try? reporting.waitForEveryone(name: "save")
})
rows.append(measure("`state.progress(...)` without `RANKTOP_ADDR` (no emitter)") { step in
    silent.progress(step: step, total: 1_000_000, metrics: ["loss": 1.25, "lr": 3e-4])
})
rows.append(measure("`Emitter.emit(.progress(...))` with no collector, queue full (a counted drop)") { step in
    absent.emit(.progress(Progress(step: step, metrics: [Metric("loss", 1.25)])))
})

// For reference: encoding, which the emitter leaves to its writer thread.
var encoded: [UInt8] = []
encoded.reserveCapacity(1 << 20)
rows.append(measure("(for reference: `EventEncoder.encode` of the progress event, done on the writer thread)") { step in
    if encoded.count > 1 << 19 { encoded.removeAll(keepingCapacity: true) }
    let event = Event(rank: 0, ts: 1_764_374_400.123456, seq: step, .progress(Progress(step: step, metrics: [Metric("loss", 1.25)])))
    EventEncoder.encode(event, into: &encoded)
})

print("| on the calling thread | batch median | batch p90 | single-call median | single-call p99 |")
print("|---|---|---|---|---|")
for row in rows {
    print("| \(row.name) | \(us(row.batchMedian)) | \(us(row.batchP90)) | \(us(row.singleMedian)) | \(us(row.singleP99)) |")
}
let sent = emitter.statistics
let runtime = reporting.emitterStatistics!
print("\nconnected emitters: \(sent.produced + runtime.produced) events produced, \(sent.dropped + runtime.dropped) dropped")
emitter.close(timeout: 2)
reporting.finish()
absent.close(timeout: 0)
shared.close(timeout: 0)
