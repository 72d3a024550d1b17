// `--stalls SECONDS`: the longest time one emit holds the calling thread, per emitter path and
// collector condition, for docs/reliability.md ("Training-thread stalls", issue 15 item 3).
//
//   swift build -c release --product ranktop-emit-bench && .build/release/ranktop-emit-bench --stalls 10
//   .build/release/ranktop-emit-bench --stalls 10 unix-stopped,shm-flooded    # only those cells
//
// The median per call (main.swift) says what reporting costs; a training step cares about the
// worst call, which is set by what the emitter does when its collector misbehaves. So every call is
// timed on its own, for SECONDS per cell, and the table gives the longest, p99.9 and the count over
// 1 ms. Paced cells make one emit, then one timed control call (`SameWork`: the emit's work with no
// emitter, so what the machine does to any call of that length), then ~0.5 ms of sleep (a step's
// compute); flooded cells make the same pairs in a tight loop. For each call over 1 ms the
// thread's context switches say whether it blocked or was preempted. The collector and reader
// stand-ins are child processes (this binary), so SIGSTOP stops a real reader and the emitter's
// threads really wait on it.
import Foundation
import RanktopEmitter
import RanktopProtocol

enum StallMatrix {
    enum Path: String { case unix = "unix socket", shm = "shared memory" }

    enum Condition: String {
        case present, absent, stopped, slow, flooded

        func label(_ path: Path) -> String {
            switch (self, path) {
            case (.present, .unix): "present (reads all)"
            case (.present, .shm): "present (drains every 10 ms)"
            case (.absent, .unix): "absent (nobody listens)"
            case (.absent, .shm): "absent (no reader)"
            case (.stopped, _): "stopped (SIGSTOP)"
            case (.slow, .unix): "slow (4 KiB / 100 ms)"
            case (.slow, .shm): "slow (16 records / 100 ms)"
            case (.flooded, _): "flooded (tight loop, reader present)"
            }
        }
    }

    struct Row {
        var path: Path
        var condition: Condition
        var emit: CallTimes
        var control: CallTimes
        var dropped: Int
        var produced: Int
    }

    static let cells: [(Path, Condition)] = [
        (.unix, .present), (.unix, .absent), (.unix, .stopped), (.unix, .slow), (.unix, .flooded),
        (.shm, .present), (.shm, .absent), (.shm, .stopped), (.shm, .slow), (.shm, .flooded),
    ]

    /// A cell's name for `--stalls SECONDS unix-stopped,shm-flooded` (to rerun only those).
    static func name(_ path: Path, _ condition: Condition) -> String {
        "\(path == .unix ? "unix" : "shm")-\(condition.rawValue)"
    }

    static func run(seconds: Double, only: Set<String>?) throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var rows: [Row] = []
        for (path, condition) in cells where only?.contains(name(path, condition)) ?? true {
            rows.append(try measureCell(path: path, condition: condition, seconds: seconds, executable: executable))
        }
        print(String(format: "%.0f s per cell; every call timed on the calling thread", seconds)
            + " (paced: emit, the control, ~0.5 ms sleep)\n")
        print("| path | collector / reader | emit: longest | p99.9 | median | over 1 ms / calls | dropped / produced "
            + "| control (same work, no emitter): longest | p99.9 | over 1 ms / calls |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for row in rows {
            let emit = row.emit, control = row.control
            print("| \(row.path.rawValue) | \(row.condition.label(row.path)) | \(us(emit.longest)) | \(us(emit.quantile(0.999))) | "
                + "\(us(emit.quantile(0.5))) | \(emit.overText) | \(row.dropped) / \(row.produced) | "
                + "\(us(control.longest)) | \(us(control.quantile(0.999))) | \(control.overText) |")
        }
    }

    private static func measureCell(path: Path, condition: Condition, seconds: Double, executable: URL) throws -> Row {
        let tag = "stalls-\(getpid())-\(name(path, condition))"
        let hello = Hello(run: tag, world: 1, localRank: 0, localWorld: 1, node: "bench", pid: Int(getpid()), runtime: "bench")
        let socketPath = "/tmp/ranktop-\(tag).sock"
        var reader: Process?
        let emitter: Emitter
        switch path {
        case .unix:
            if condition != .absent {
                reader = try start(executable, condition == .slow ? ["--slow-drain", socketPath] : ["--drain", socketPath])
                while !FileManager.default.fileExists(atPath: socketPath) { usleep(10_000) }
            }
            // Default options: with no collector the writer keeps reconnecting (backoff up to 2 s),
            // as it would for a real rank.
            emitter = try Emitter(address: .unix(path: socketPath), rank: 0, hello: hello)
            if reader != nil {
                let deadline = MonotonicClock.now + 5
                while !emitter.statistics.connected, MonotonicClock.now < deadline { usleep(1_000) }
            }
        case .shm:
            emitter = try Emitter(address: .sharedMemory(name: tag), rank: 0, hello: hello)
            if condition != .absent {
                reader = try start(executable, ["--shm-reader", tag] + (condition == .slow ? ["slow"] : []))
            }
        }
        defer {
            emitter.close(timeout: 0)
            if let reader {
                kill(reader.processIdentifier, SIGCONT)
                reader.terminate()
                reader.waitUntilExit()
            }
            unlink(socketPath)
            if path == .shm { unlink(ShmSegment.path(name: tag)) }
        }
        // Half a second of paced events with the reader reading, so a stopped one is stopped
        // mid-stream with its connection (or its ring position) established.
        pacedLoop(emitter: emitter, seconds: 0.5)
        if condition == .stopped, let reader { kill(reader.processIdentifier, SIGSTOP) }
        let before = emitter.statistics
        let (emit, control) = condition == .flooded
            ? floodLoop(emitter: emitter, seconds: seconds)
            : pacedLoop(emitter: emitter, seconds: seconds)
        let after = emitter.statistics
        return Row(path: path, condition: condition, emit: emit, control: control,
                   dropped: after.dropped - before.dropped, produced: after.produced - before.produced)
    }

    private static func start(_ executable: URL, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        try process.run()
        return process
    }

    /// The event a training loop sends most: a progress event with one metric.
    @inline(__always)
    private static func body(_ step: Int) -> EventBody {
        .progress(Progress(step: step, metrics: [Metric("loss", 1.25)]))
    }

    /// One timed call: its duration, and which context switches this thread took around it
    /// (getrusage, outside the timed span). A voluntary switch means the call blocked (a lock
    /// wait, a system call that slept): the emitter's doing. An involuntary one means the
    /// scheduler took the core away: anything running then pays it, the control included.
    @inline(__always)
    private static func timed(_ times: inout CallTimes, _ call: () -> Void) {
        let before = ThreadSwitches.now
        let t0 = MonotonicClock.now
        call()
        let t1 = MonotonicClock.now
        let after = ThreadSwitches.now
        times.add(t1 - t0, voluntary: after.voluntary - before.voluntary, involuntary: after.involuntary - before.involuntary)
    }

    /// Paced: emit, the control, then ~0.5 ms of sleep (a step's compute, off the core).
    @discardableResult
    private static func pacedLoop(emitter: Emitter, seconds: Double) -> (CallTimes, CallTimes) {
        var emit = CallTimes()
        var control = CallTimes()
        let sameWork = SameWork()
        let end = MonotonicClock.now + seconds
        var step = 0
        while MonotonicClock.now < end {
            timed(&emit) { emitter.emit(body(step)) }
            timed(&control) { sameWork.append(body(step)) }
            step += 1
            usleep(500)
        }
        return (emit, control)
    }

    /// Flooded: the same pairs back to back. Three busy threads (this one, the writer, the reader)
    /// share two cores, so the scheduler preempts this one now and then, on either call. Two
    /// getrusage calls a pair would slow the flood tenfold, so the switches are read every 256
    /// pairs and after a long call: a long call's are those since the last reading (its own and
    /// those of at most 256 short pairs before it).
    private static func floodLoop(emitter: Emitter, seconds: Double) -> (CallTimes, CallTimes) {
        var emit = CallTimes()
        var control = CallTimes()
        let sameWork = SameWork()
        let end = MonotonicClock.now + seconds
        var step = 0
        var mark = ThreadSwitches.now
        var t0 = MonotonicClock.now
        while t0 < end {
            emitter.emit(body(step))
            let t1 = MonotonicClock.now
            sameWork.append(body(step))
            let t2 = MonotonicClock.now
            if t1 - t0 > 0.001 || t2 - t1 > 0.001 {
                let now = ThreadSwitches.now
                let voluntary = now.voluntary - mark.voluntary, involuntary = now.involuntary - mark.involuntary
                emit.add(t1 - t0, voluntary: voluntary, involuntary: involuntary)
                control.add(t2 - t1, voluntary: voluntary, involuntary: involuntary)
                mark = now
            } else {
                emit.add(t1 - t0, voluntary: 0, involuntary: 0)
                control.add(t2 - t1, voluntary: 0, involuntary: 0)
                if step & 255 == 0 { mark = ThreadSwitches.now }
            }
            t0 = t2  // the clock read ending one pair starts the next
            step += 1
        }
        return (emit, control)
    }
}

/// The control call: what the socket emitter's `emit` does (the event built and stamped, a lock,
/// an append to a bounded queue that drops its oldest) with no emitter, no writer thread and no
/// reader around. A call this long that is preempted, or takes a page fault, shows it here too.
final class SameWork {
    private let lock = NSLock()
    private var ring = [Event?](repeating: nil, count: 8192)
    private var next = 0

    func append(_ body: EventBody) {
        var event = Event(rank: 0, ts: WallClock.now, body)
        lock.lock()
        event.seq = next
        ring[next & 8191] = event
        next += 1
        lock.unlock()
    }
}

/// This thread's context switches so far (getrusage RUSAGE_THREAD).
struct ThreadSwitches {
    var voluntary: Int
    var involuntary: Int

    static var now: ThreadSwitches {
        var usage = rusage()
        #if os(Linux)
        _ = getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD, a GNU name Swift does not import
        #else
        _ = getrusage(RUSAGE_SELF, &usage)  // no per-thread counts: the process's, a coarser hint
        #endif
        return ThreadSwitches(voluntary: usage.ru_nvcsw, involuntary: usage.ru_nivcsw)
    }
}

/// Per-call durations without keeping every sample (a flooded cell makes millions of calls): a
/// histogram of 10 ns buckets below 100 us and 1 us buckets up to 100 ms, plus the exact longest
/// call and, for the calls over 1 ms, what the thread went through meanwhile.
struct CallTimes {
    private var fine = [Int](repeating: 0, count: 10_000)
    private var coarse = [Int](repeating: 0, count: 100_000)
    private(set) var calls = 0
    private(set) var longest = 0.0
    private(set) var over1ms = 0
    /// Of the calls over 1 ms: those during which the thread blocked (a voluntary switch), those
    /// only preempted (an involuntary one), and those with neither (a hypervisor's steal, a fault).
    private(set) var blocked = 0
    private(set) var preempted = 0
    private(set) var neither = 0

    @inline(__always)
    mutating func add(_ seconds: Double, voluntary: Int, involuntary: Int) {
        calls += 1
        if seconds > longest { longest = seconds }
        if seconds > 0.001 {
            over1ms += 1
            if voluntary > 0 {
                blocked += 1
            } else if involuntary > 0 {
                preempted += 1
            } else {
                neither += 1
            }
        }
        let ns = Int(seconds * 1e9)
        if ns < 100_000 {
            fine[max(ns, 0) / 10] += 1
        } else if ns < 100_000_000 {
            coarse[ns / 1000] += 1
        }
    }

    /// The upper edge of the bucket holding the `q` quantile (so never an underestimate).
    func quantile(_ q: Double) -> Double {
        guard calls > 0 else { return 0 }
        let rank = Int((q * Double(calls)).rounded(.up))
        var seen = 0
        for (index, count) in fine.enumerated() {
            seen += count
            if seen >= rank { return Double(index + 1) * 10e-9 }
        }
        for (index, count) in coarse.enumerated() where index >= 100 {
            seen += count
            if seen >= rank { return Double(index + 1) * 1e-6 }
        }
        return longest
    }

    /// "4 / 15820 (3 preempted, 1 blocked)".
    var overText: String {
        var why: [String] = []
        if preempted > 0 { why.append("\(preempted) preempted") }
        if blocked > 0 { why.append("\(blocked) blocked") }
        if neither > 0 { why.append("\(neither) neither") }
        return "\(over1ms) / \(calls)" + (why.isEmpty ? "" : " (" + why.joined(separator: ", ") + ")")
    }
}

/// Collector and reader stand-ins for the stall matrix, each a child process.
enum StallReaders {
    /// A collector that reads 4 KiB of each connection every 100 ms (40 KiB/s): the socket
    /// buffer fills and the emitter's writer thread spends its time waiting for room.
    static func slowDrain(path: String) -> Never {
        guard let listener = try? PosixSocket.listen(unixPath: path) else { exit(1) }
        var clients: [PosixSocket] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            while let client = listener.accept() { clients.append(client) }  // non-blocking: nil when none waits
            clients.removeAll { client in
                guard buffer.withUnsafeMutableBytes({ client.receive(into: $0) }) == .closed else { return false }
                client.close()
                return true
            }
            usleep(100_000)
        }
    }

    /// A shared-memory reader of rank area 0: every record every 10 ms (a relay's pace), or with
    /// `slow` 16 records every 100 ms. The writer never waits for it either way; what it can cost
    /// the writer is the cache lines it reads while the writer stores them.
    static func shmReader(name: String, slow: Bool) -> Never {
        var opened = try? ShmSegment.open(name: name, writable: false)
        while opened == nil {
            usleep(10_000)
            opened = try? ShmSegment.open(name: name, writable: false)
        }
        guard let segment = opened else { exit(1) }
        var reader = ShmAreaReader(area: segment.area(0))
        while true {
            reader.drain(limit: slow ? 16 : .max) { _ in }
            usleep(slow ? 100_000 : 10_000)
        }
    }
}
