import Atomics
import Foundation
import RanktopCollector
import RanktopProtocol

/// A simulated 16,384-rank run (docs/benchmarks.md, "Shared memory: 16,384 ranks"): writer
/// processes fill 64 segments (one per simulated node, 256 ranks each), 64 `ShmRelay`s (threads
/// of one process, one connection each) forward them, one head collector (this process) logs
/// them. Per rate: the events/s the head took, and the loss (`dropped`, from `seq` gaps). Then
/// the relays are stopped (SIGSTOP) while the writers outrun the rings, to show how loss past
/// that is counted.
enum ShmScaleBenchmark {
    static func value(_ arguments: [String], _ name: String, _ fallback: String) -> String {
        guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
        return arguments[index + 1]
    }

    static func run(arguments: [String]) async throws {
        let ranks = Int(value(arguments, "ranks", "16384"))!
        let nodes = Int(value(arguments, "nodes", "64"))!
        let writers = Int(value(arguments, "writers", "4"))!
        let seconds = Double(value(arguments, "seconds", "10"))!
        let rates = value(arguments, "rates", "25000,50000,100000,200000").split(separator: ",").compactMap { Int($0) }
        let overflow = Int(value(arguments, "overflow", "3000"))!
        let perNode = ranks / nodes
        print("\(ranks) ranks: \(nodes) nodes of \(perNode), \(writers) writer processes, \(nodes) relays, one head; \(seconds) s per rate")
        print("| offered events/s | head took events/s | events | dropped (seq gaps) | head CPU | relays CPU | writers CPU |")
        print("|---|---|---|---|---|---|---|")
        for rate in rates {
            try await round(ranks: ranks, nodes: nodes, writers: writers, seconds: seconds, rate: rate, pauseRelays: false, overflow: 0)
        }
        guard overflow > 0 else { return }
        print("\nrelays stopped (SIGSTOP) while each rank writes \(overflow) events into its 1,024-slot ring, then resumed:")
        try await round(ranks: ranks, nodes: nodes, writers: writers, seconds: 0, rate: 0, pauseRelays: true, overflow: overflow)
    }

    private static func round(ranks: Int, nodes: Int, writers: Int, seconds: Double, rate: Int, pauseRelays: Bool, overflow: Int) async throws {
        let directory = "/dev/shm/rtscale-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        setenv("RANKTOP_SHM_DIR", directory, 1)
        let perNode = ranks / nodes
        for node in 0..<nodes {
            _ = try ShmSegment.openOrCreate(name: "node-\(node)", rankCapacity: perNode, ringSlots: 1024, directory: directory)
        }
        let scratch = try BenchScratch()
        defer { scratch.remove() }
        let head = try Collector(configuration: CollectorConfiguration(
            listen: [.tcp(host: "127.0.0.1", port: 0)], logPath: scratch.path + "/head.jsonl", runID: "scale", token: "bench", silenceTimeout: 600
        ))
        let address = try await head.start()[0]
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let relays = Process()
        relays.executableURL = executable
        relays.arguments = ["shm-writer", "--relays", "--to", address.description, "--nodes", "\(nodes)"]
        relays.environment = ProcessInfo.processInfo.environment
        try relays.run()

        // Writers: each takes a share of the nodes.
        let perRankEvents = pauseRelays ? overflow : max(1, Int(Double(rate) * seconds) / ranks)
        try await waitUntilConnected(head, relays: nodes)
        if pauseRelays { kill(relays.processIdentifier, SIGSTOP) }
        let start = MonotonicClock.now
        let cpuBefore = (head: processCPU(getpid()), relays: processCPU(relays.processIdentifier), writers: childrenCPU())
        try await writeAll(executable: executable, writers: writers, nodes: nodes, perNode: perNode, events: perRankEvents, rate: pauseRelays ? 0 : rate)
        let writersCPU = childrenCPU() - cpuBefore.writers
        if pauseRelays { kill(relays.processIdentifier, SIGCONT) }
        let expected = ranks * (perRankEvents + 2)
        // Paused: the rings kept their newest 1,024 records; the state blocks give the hellos.
        try await waitForHead(head, lines: pauseRelays ? ranks * 1025 : expected, timeout: 300)
        let took = MonotonicClock.now - start
        let cpuAfter = (head: processCPU(getpid()), relays: processCPU(relays.processIdentifier))
        // Not `terminate()` + `waitUntilExit()`: the latter never returned here.
        kill(relays.processIdentifier, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(relays.processIdentifier, &status, 0)
        await head.stop()
        var dropped = 0
        var events = 0
        _ = try EventLogReader.read(path: scratch.path + "/head.jsonl") { event in
            if case let .dropped(count) = event.body { dropped += count } else if event.rank >= 0 { events += 1 }
        }
        let offered = pauseRelays ? "(paused)" : "\(rate)"
        print("| \(offered) | \(Int(Double(events) / took)) | \(events) | \(dropped) | \(String(format: "%.1f s", cpuAfter.head - cpuBefore.head)) | \(String(format: "%.1f s", cpuAfter.relays - cpuBefore.relays)) | \(String(format: "%.1f s", writersCPU)) |")
    }

    private static func waitForHead(_ head: Collector, lines: Int, timeout: Double) async throws {
        let deadline = MonotonicClock.now + timeout
        var last = -1
        var lastChange = MonotonicClock.now
        while head.statistics.acceptedLines < lines, MonotonicClock.now < deadline {
            let now = head.statistics.acceptedLines
            if now != last { last = now; lastChange = MonotonicClock.now }
            if MonotonicClock.now - lastChange > 10 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private static func waitUntilConnected(_ head: Collector, relays: Int) async throws {
        let deadline = MonotonicClock.now + 60
        while head.statistics.connections < relays, MonotonicClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// Runs the writer processes to their end.
    private static func writeAll(executable: URL, writers: Int, nodes: Int, perNode: Int, events: Int, rate: Int) async throws {
        var processes: [Process] = []
        let share = (nodes + writers - 1) / writers
        for writer in 0..<writers {
            let first = writer * share
            let last = min(nodes, first + share)
            guard first < last else { continue }
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "shm-writer", "--first-node", "\(first)", "--last-node", "\(last)", "--per-node", "\(perNode)", "--events", "\(events)",
                "--rate", "\(rate / writers)", "--world", "\(nodes * perNode)",
            ]
            process.environment = ProcessInfo.processInfo.environment
            try process.run()
            processes.append(process)
        }
        for process in processes {
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        }
    }

    // MARK: child processes

    /// `shm-writer`: the writers, or (`--relays`) the relays.
    static func writer(arguments: [String]) -> Never {
        if arguments.contains("--relays") { relays(arguments: arguments) }
        let first = Int(value(arguments, "first-node", "0"))!
        let last = Int(value(arguments, "last-node", "1"))!
        let perNode = Int(value(arguments, "per-node", "256"))!
        let events = Int(value(arguments, "events", "10"))!
        let rate = Int(value(arguments, "rate", "0"))!
        let world = Int(value(arguments, "world", "16384"))!
        var areas: [ShmRankArea] = []
        for node in first..<last {
            guard let segment = try? ShmSegment.open(name: "node-\(node)") else { exit(3) }
            for local in 0..<perNode {
                let area = segment.area(local)
                let rank = node * perNode + local
                area.claim(pid: Int(getpid()), rank: rank)
                var line: [UInt8] = []
                EventEncoder.encode(Event(rank: rank, ts: WallClock.now, seq: 0, .hello(Hello(
                    run: "scale", world: world, localRank: local, localWorld: perNode, node: "node-\(node)", pid: Int(getpid()), runtime: "bench"))), into: &line)
                line.removeLast()
                line.withUnsafeBytes { area.write(record: $0); area.setState(.hello, to: $0) }
                areas.append(area)
            }
        }
        let start = MonotonicClock.now
        var written = 0
        let total = events * areas.count
        while written < total {
            let due = rate > 0 ? min(total, Int((MonotonicClock.now - start) * Double(rate)) + 1) : total
            while written < due {
                let area = areas[written % areas.count]
                let seq = written / areas.count + 1
                write(area, Event(rank: area.rank, ts: WallClock.now, seq: seq, .progress(Progress(step: seq, total: events, metrics: [Metric("loss", 1.25)]))))
                written += 1
            }
            if rate > 0 { usleep(1000) }
        }
        for area in areas {
            write(area, Event(rank: area.rank, ts: WallClock.now, seq: events + 1, .bye(code: 0, error: nil)))
            area.noteBye()
        }
        exit(0)
    }

    private static func write(_ area: ShmRankArea, _ event: Event) {
        var line: [UInt8] = []
        line.reserveCapacity(200)
        EventEncoder.encode(event, into: &line)
        line.removeLast()
        _ = line.withUnsafeBytes { area.write(record: $0) }
        area.noteEvent(ts: event.ts, seq: event.seq ?? 0)
    }

    private static func relays(arguments: [String]) -> Never {
        let nodes = Int(value(arguments, "nodes", "64"))!
        guard let head = try? Address(parsing: value(arguments, "to", "")) else { exit(2) }
        let stop = ManagedAtomic(false)
        for node in 0..<nodes {
            var options = ShmRelay.Options(head: head, token: "bench", segments: ["node-\(node)"], node: "node-\(node)")
            options.scanInterval = 0.2
            let relay = ShmRelay(options: options) { _ in }
            DetachedThread.start(name: "relay", stackSize: 1 << 20) { _ = relay.run(until: stop) }
        }
        while true { pause() }
    }

    private static func processCPU(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func childrenCPU() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
