import Foundation
import RanktopTestSupport
import Testing
import RanktopProtocol

@Suite struct ExportCommandTests {
    func fixture(_ name: String) -> String { ReportCommandTests.fixtures.appendingPathComponent("\(name).jsonl").path }

    /// The run's own thread (injections, discards, stops): past every rank number.
    static let runThread = 1 << 20

    @Test func aChromeTraceShowsTheHangAsOpenSpansOnEveryRankButTheMissingOne() async throws {
        let result = try await ProcessRunner.ranktop(["export", fixture("hang")])
        #expect(result.status == 0)
        let trace = try #require(JSONValue.parse(result.stdout))
        let events = trace["traceEvents"]?.arrayValue ?? []
        let open = events.filter { $0["name"]?.stringValue == "barrier #1 save_checkpoint (still open)" }
        #expect(open.compactMap { $0["tid"]?.intValue }.sorted() == [0, 1, 2, 3, 4, 6, 7])
        #expect(open.allSatisfy { ($0["dur"]?.doubleValue ?? 0) > 14 * 60 * 1e6 })
        #expect(open.allSatisfy { $0["args"]?["still_open"] == .bool(true) })
        let names = events.filter { $0["name"]?.stringValue == "thread_name" }.compactMap { $0["args"]?["name"]?.stringValue }
        #expect(names.sorted() == (0..<8).map { "rank \($0)" }.sorted())
        let mainPart = events.first { $0["name"]?.stringValue == "load_dataset (main part)" }
        #expect(mainPart?["tid"]?.intValue == 0)
        #expect(mainPart?["dur"]?.doubleValue.map { abs($0 - 30.01e6) < 1e4 } == true)
        // The hang is a stall on every rank: each one is still stalled when the log ends.
        let stalls = events.filter { $0["name"]?.stringValue == "stall" && $0["args"]?["still_open"] == .bool(true) }
        #expect(Set(stalls.compactMap { $0["tid"]?.intValue }) == Set(0..<8))
        try checkFormat(events)
    }

    @Test func triggerFiringsBecomeInstantsAndTheFileOptionWrites() async throws {
        let path = NSTemporaryDirectory() + "ranktop-trace-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try await ProcessRunner.ranktop(["export", fixture("manual_trigger"), "-o", path])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        let trace = try #require(JSONValue.parse(try String(contentsOfFile: path, encoding: .utf8)))
        let events = trace["traceEvents"]?.arrayValue ?? []
        let fired = events.filter { $0["name"]?.stringValue == "trigger fired at check #12" }
        #expect(fired.count == 4)
        let sets = events.filter { $0["cat"]?.stringValue == "trigger" && ($0["name"]?.stringValue ?? "").hasPrefix("trigger set") }
        #expect(sets.count == 4)
        try checkFormat(events)
    }

    @Test(arguments: ["clean", "hang", "crash", "lost", "mismatch", "code_trigger", "manual_trigger", "hostile"])
    func everyFixtureExportsAWellFormedTrace(name: String) async throws {
        let result = try await ProcessRunner.ranktop(["export", fixture(name), "--format", "chrome"])
        #expect(result.status == 0)
        let trace = try #require(JSONValue.parse(result.stdout), "not one JSON document")
        try checkFormat(try #require(trace["traceEvents"]?.arrayValue))
    }

    @Test func anUnreadableLogExitsTwo() async throws {
        let result = try await ProcessRunner.ranktop(["export", "/nonexistent.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("ranktop: cannot open '/nonexistent.jsonl'"))
    }

    // MARK: - A run with every kind the trace has

    /// Four ranks on two nodes stepping every half second, each step an all_reduce, with a
    /// main-first phase, a checkpoint barrier, an injection, a code trigger, dropped events and
    /// discarded lines; rank 1 goes quiet and is lost, the others hang in a barrier, and rank 4
    /// is known only from the collector's `lost`.
    struct Scenario {
        static let t0 = 1_764_374_400.0
        static let world = 5
        static let steps = 20
        static let stepTime = 0.5
        static let collectiveTime = 0.1
        /// Rank 1's last step, after which it only heartbeats until it is lost.
        static let lastStepOfRank1 = 14
        static let lostAfter = 30.0
        static let hangFor = 40.0
        /// The stall rule's floor: steps of half a second make the threshold the 10 s floor.
        static let threshold = 10.0

        var events: [Event] = []
        var seq: [Int: Int] = [:]
        var rank1LastProgress = 0.0
        var lastProgress: [Int: Double] = [:]
        var rank1LostAt = 0.0
        var barrier1EnteredAt: [Int: Double] = [:]
        var rank3UnreachableAt = 0.0
        var endTs = 0.0

        mutating func emit(_ rank: Int, _ ts: Double, _ body: EventBody) {
            // The collector's events carry no seq of the rank's.
            if rank < 0 || [.lost, .dropped, .unreachable].contains(body.kind) {
                events.append(Event(rank: rank, ts: ts, body))
                return
            }
            let s = seq[rank, default: 0]
            seq[rank] = s + 1
            events.append(Event(rank: rank, ts: ts, seq: s, body))
        }

        init() {
            let t0 = Scenario.t0
            for r in 0..<4 {
                emit(r, t0, .hello(Hello(
                    run: "export-test", world: Scenario.world, localRank: r % 2, localWorld: 2, node: r < 2 ? "node-a" : "node-b",
                    pid: 100 + r, runtime: "test"
                )))
            }
            for r in 0..<4 { emit(r, t0 + 0.1, .phaseEnter(PhaseEnter(name: "load_dataset", mode: .mainFirst, main: r == 0))) }
            emit(0, t0 + 1, .phaseExit(name: "load_dataset"))
            for r in 1..<4 { emit(r, t0 + 1.5, .phaseExit(name: "load_dataset")) }
            var t = t0 + 2
            for step in 1...Scenario.steps {
                let ranks = (0..<4).filter { $0 != 1 || step <= Scenario.lastStepOfRank1 }
                for r in ranks { emit(r, t, .collectiveEnter(CollectiveEnter(group: "world", n: step - 1, op: "all_reduce", label: "ddp.gradients"))) }
                for r in ranks { emit(r, t + Scenario.collectiveTime, .collectiveExit(CollectiveExit(group: "world", n: step - 1))) }
                for r in ranks {
                    lastProgress[r] = t + 0.2
                    emit(r, t + 0.2, .progress(Progress(step: step, metrics: [Metric("loss", 3.0 / Double(step)), Metric("lr", 1e-4 * Double(r + 1))])))
                    emit(r, t + 0.2, .triggerCheck(n: step, fired: step == 12 || step == 8))
                }
                if step == Scenario.lastStepOfRank1 { rank1LastProgress = t + 0.2 }
                switch step {
                case 5:
                    // The checkpoint: rank 2 comes a second late.
                    for r in ranks { emit(r, t + 0.3 + (r == 2 ? 1 : 0), .barrierEnter(BarrierEnter(n: 0, name: "save_checkpoint", site: "train.py:212"))) }
                    for r in ranks { emit(r, t + 1.4, .barrierExit(n: 0)) }
                    t += 1.2
                case 7:
                    emit(1, t + 0.3, .triggerSet(TriggerSet(source: .code, reason: "loss spike")))
                case 10:
                    emit(-1, t + 0.3, .inject(Injection(id: "inj-1", reason: "look", by: "alice@host")))
                    for r in ranks { emit(r, t + 0.4, .triggerSet(TriggerSet(source: .manual, id: "inj-1"))) }
                case 13:
                    emit(2, t + 0.3, .dropped(count: 5))
                    emit(-1, t + 0.35, .discarded(count: 3, reason: "disk full"))
                default:
                    break
                }
                // Rank 1, quiet but alive: heartbeats.
                if step > Scenario.lastStepOfRank1 { emit(1, t + 0.25, .heartbeat) }
                t += Scenario.stepTime
            }
            // Ranks 0, 2 and 3 wait in a barrier rank 1 never comes to; rank 1 is lost meanwhile.
            for r in [0, 2, 3] {
                barrier1EnteredAt[r] = t
                emit(r, t, .barrierEnter(BarrierEnter(n: 1, name: "save_checkpoint")))
            }
            var hb = t
            rank1LostAt = rank1LastProgress + Scenario.lostAfter
            var lostWritten = false
            while hb < t + Scenario.hangFor {
                hb += 2
                if !lostWritten, hb >= rank1LostAt {
                    emit(1, rank1LostAt, .lost(reason: "connection closed"))
                    lostWritten = true
                } else if !lostWritten {
                    emit(1, hb, .heartbeat)
                }
                if rank3UnreachableAt == 0 {
                    // Inside rank 3's open barrier span: written after it, though the span began first.
                    rank3UnreachableAt = hb + 1
                    emit(3, rank3UnreachableAt, .unreachable(reason: "relay node-b gone"))
                }
                for r in [0, 2, 3] { emit(r, hb, .heartbeat) }
            }
            emit(4, hb, .lost(reason: "never connected"))
            endTs = hb
        }

        func write() throws -> String {
            let path = NSTemporaryDirectory() + "ranktop-export-\(UUID().uuidString).jsonl"
            let text = events.map { EventEncoder.line($0) + "\n" }.joined()
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    @Test func aRunWithEveryKindBecomesSpansInstantsAndCountersWhereTheyHappened() async throws {
        let scenario = Scenario()
        let log = try scenario.write()
        let out = NSTemporaryDirectory() + "ranktop-export-\(UUID().uuidString).json"
        defer {
            try? FileManager.default.removeItem(atPath: log)
            try? FileManager.default.removeItem(atPath: out)
        }
        let result = try await ProcessRunner.ranktop(["export", log, "--format", "chrome", "-o", out])
        #expect(result.status == 0, "\(result.stderr)")
        let trace = try #require(JSONValue.parse(try String(contentsOfFile: out, encoding: .utf8)))
        let events = try #require(trace["traceEvents"]?.arrayValue)
        try checkFormat(events)
        func named(_ name: String) -> [JSONValue] { events.filter { $0["name"]?.stringValue == name } }
        func tids(_ list: [JSONValue]) -> [Int] { list.compactMap { $0["tid"]?.intValue }.sorted() }
        func micros(_ seconds: Double) -> Double { (seconds * 1e6).rounded() }

        // One process per node, ranks under their node; rank 4 (no hello) is named all the same.
        let processes = Dictionary(named("process_name").compactMap { e in e["args"]?["name"]?.stringValue.map { ($0, e["pid"]?.intValue ?? -1) } }) { a, _ in a }
        #expect(Set(processes.keys) == ["node-a", "node-b", "ranks without hello", "run"])
        let threads = named("thread_name")
        func pid(ofRank rank: Int) -> Int? { threads.first { $0["tid"]?.intValue == rank }?["pid"]?.intValue }
        #expect(pid(ofRank: 0) == processes["node-a"] && pid(ofRank: 1) == processes["node-a"])
        #expect(pid(ofRank: 2) == processes["node-b"] && pid(ofRank: 3) == processes["node-b"])
        #expect(pid(ofRank: 4) == processes["ranks without hello"])
        #expect(tids(named("thread_sort_index")) == [0, 1, 2, 3, 4])
        #expect(named("thread_sort_index").allSatisfy { $0["args"]?["sort_index"]?.intValue == $0["tid"]?.intValue })

        // Phases: the main rank's part, then the others'.
        #expect(tids(named("load_dataset (main part)")) == [0])
        #expect(tids(named("load_dataset (after main)")) == [1, 2, 3])
        #expect(named("load_dataset (main part)").first?["dur"]?.doubleValue.map { abs($0 - micros(0.9)) <= 1 } == true)

        // Collectives: one span per step per rank, as long as enter to exit.
        let allReduces = events.filter { $0["cat"]?.stringValue == "collective" && $0["ph"]?.stringValue == "X" }
        for rank in 0..<4 {
            let expected = rank == 1 ? Scenario.lastStepOfRank1 : Scenario.steps
            #expect(allReduces.filter { $0["tid"]?.intValue == rank }.count == expected, "rank \(rank)")
        }
        #expect(allReduces.allSatisfy { abs(($0["dur"]?.doubleValue ?? 0) - micros(Scenario.collectiveTime)) <= 1 })
        #expect(named("all_reduce #0 ddp.gradients").first?["args"]?["group"]?.stringValue == "world")

        // The checkpoint barrier: a span on every rank, the late one's shortest.
        let checkpoint = named("barrier #0 save_checkpoint")
        #expect(tids(checkpoint) == [0, 1, 2, 3])
        let waits = Dictionary(uniqueKeysWithValues: checkpoint.compactMap { e in e["tid"]?.intValue.map { ($0, e["dur"]?.doubleValue ?? -1) } })
        #expect(abs((waits[0] ?? 0) - micros(1.1)) <= 1)
        #expect(abs((waits[2] ?? 0) - micros(0.1)) <= 1)

        // The hang: the barrier rank 1 never came to, still open at the end on the others.
        let hang = named("barrier #1 save_checkpoint (still open)")
        #expect(tids(hang) == [0, 2, 3])
        for span in hang {
            let rank = span["tid"]?.intValue ?? -1
            #expect(span["ts"]?.doubleValue == micros(scenario.barrier1EnteredAt[rank] ?? 0))
            #expect(span["dur"]?.doubleValue == micros(scenario.endTs) - micros(scenario.barrier1EnteredAt[rank] ?? 0))
            #expect(span["args"]?["still_open"] == .bool(true))
        }

        // Triggers: the code one and the manual one set, each fired on every rank.
        #expect(tids(named("trigger set (code): loss spike")) == [1])
        #expect(tids(named("trigger set (manual inj-1)")) == [0, 1, 2, 3])
        #expect(tids(named("trigger fired at check #8")) == [0, 1, 2, 3])
        #expect(tids(named("trigger fired at check #12")) == [0, 1, 2, 3])
        let inject = try #require(named("inject inj-1 by alice@host").first)
        #expect(inject["s"]?.stringValue == "g" && inject["pid"]?.intValue == processes["run"])
        #expect(inject["ph"]?.stringValue == "i")

        // Losses.
        #expect(tids(named("dropped 5 events")) == [2])
        #expect(tids(named("lost: connection closed")) == [1])
        #expect(named("lost: connection closed").first?["ts"]?.doubleValue == micros(scenario.rank1LostAt))
        #expect(tids(named("lost: never connected")) == [4])
        #expect(named("unreachable: relay node-b gone").compactMap { $0["ts"]?.doubleValue } == [micros(scenario.rank3UnreachableAt)])
        #expect(tids(named("unreachable: relay node-b gone")) == [3])
        #expect(named("collector discarded 3 events: disk full").count == 1)

        // Stalls, by the dashboard's rule: rank 1 from its last step plus the threshold until it
        // was lost; the others from the last time they moved on until the log ends; none while
        // the run trained.
        let stalls = named("stall")
        let rank1 = stalls.filter { $0["tid"]?.intValue == 1 }
        #expect(rank1.count == 1)
        #expect(rank1.first?["ts"]?.doubleValue == micros(scenario.rank1LastProgress + Scenario.threshold))
        #expect(rank1.first.flatMap { $0["args"]?["seconds"]?.doubleValue }.map {
            abs($0 - (scenario.rank1LostAt - scenario.rank1LastProgress - Scenario.threshold)) < 1e-6
        } == true)
        #expect(rank1.first?["args"]?["still_open"] == nil)
        for rank in [0, 2, 3] {
            let mine = stalls.filter { $0["tid"]?.intValue == rank }
            #expect(mine.count == 1, "rank \(rank)")
            let lastMove = try #require(scenario.lastProgress[rank])
            #expect(mine.first?["ts"]?.doubleValue == micros(lastMove + Scenario.threshold), "rank \(rank)")
            #expect(mine.first?["args"]?["still_open"] == .bool(true))
        }
        #expect(stalls.allSatisfy { $0["ph"]?.stringValue == "i" && $0["s"]?.stringValue == "t" })

        // Counters: the step and each metric, one series per rank.
        let counters = events.filter { $0["ph"]?.stringValue == "C" }
        for name in ["step", "loss", "lr"] {
            for rank in 0..<4 {
                let samples = counters.filter { $0["name"]?.stringValue == name }.compactMap { $0["args"]?["rank \(rank)"]?.doubleValue }
                #expect(samples.count == (rank == 1 ? Scenario.lastStepOfRank1 : Scenario.steps), "\(name) rank \(rank)")
                if name == "step" { #expect(samples == samples.sorted() && samples.last == Double(rank == 1 ? Scenario.lastStepOfRank1 : Scenario.steps)) }
                if name == "lr" { #expect(samples.allSatisfy { abs($0 - 1e-4 * Double(rank + 1)) < 1e-12 }) }
            }
        }
    }

    /// A span open for longer than a rank's events may wait behind it (here a phase around the
    /// whole training) is written in pieces, so memory stays bounded; the pieces cover it exactly.
    @Test func aLongSpanIsCutIntoPiecesThatCoverIt() async throws {
        var events = [Event(rank: 0, ts: Scenario.t0, seq: 0, .hello(Hello(run: "long", world: 1, localRank: 0, localWorld: 1, node: "n", pid: 1, runtime: "test")))]
        events.append(Event(rank: 0, ts: Scenario.t0 + 1, seq: 1, .phaseEnter(PhaseEnter(name: "train", mode: .mainFirst, main: true))))
        let steps = 3000
        for step in 1...steps {
            events.append(Event(rank: 0, ts: Scenario.t0 + 1 + Double(step) * 0.1, seq: 1 + step, .progress(Progress(step: step, metrics: [Metric("loss", 1)]))))
        }
        let end = Scenario.t0 + 2 + Double(steps) * 0.1
        events.append(Event(rank: 0, ts: end, seq: steps + 2, .phaseExit(name: "train")))
        let path = NSTemporaryDirectory() + "ranktop-export-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try events.map { EventEncoder.line($0) + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ProcessRunner.ranktop(["export", path])
        #expect(result.status == 0)
        let trace = try #require(JSONValue.parse(result.stdout)?["traceEvents"]?.arrayValue)
        try checkFormat(trace)
        let pieces = trace.filter { $0["name"]?.stringValue == "train (main part)" }
        #expect(pieces.count > 1)
        #expect(pieces.dropLast().allSatisfy { $0["args"]?["continues"] == .bool(true) })
        #expect(pieces.dropFirst().allSatisfy { $0["args"]?["continued"] == .bool(true) })
        let starts = pieces.compactMap { $0["ts"]?.doubleValue }
        let ends = pieces.compactMap { p in p["ts"]?.doubleValue.flatMap { ts in p["dur"]?.doubleValue.map { ts + $0 } } }
        #expect(starts.first == (Scenario.t0 + 1) * 1e6)
        #expect(ends.last == (end * 1e6).rounded())
        #expect(Array(starts.dropFirst()) == Array(ends.dropLast()), "the pieces are adjacent")
        #expect(trace.filter { $0["name"]?.stringValue == "step" }.count == steps)
    }

    // MARK: - The format

    /// What Perfetto and chrome://tracing need of the events, and what the issue asks: known
    /// phases; timestamps in microseconds (the log's epoch seconds times 1e6, so within a year
    /// of 2025 in those units), whole, and non-decreasing per thread in file order; every `X`
    /// with `dur >= 0`; every process and every rank's thread named.
    func checkFormat(_ events: [JSONValue], sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(!events.isEmpty, sourceLocation: sourceLocation)
        var last: [String: Double] = [:]
        var threadNames: Set<String> = []
        var processNames: Set<Int> = []
        var threadsUsed: Set<String> = []
        var processesUsed: Set<Int> = []
        let epochLow = 1.6e9 * 1e6, epochHigh = 2.0e9 * 1e6
        for event in events {
            let ph = try #require(event["ph"]?.stringValue, "no ph: \(event.serialized)", sourceLocation: sourceLocation)
            let pid = try #require(event["pid"]?.intValue, "no pid: \(event.serialized)", sourceLocation: sourceLocation)
            #expect(event["name"]?.stringValue != nil, sourceLocation: sourceLocation)
            if ph == "M" {
                let name = event["name"]?.stringValue
                if name == "thread_name", let tid = event["tid"]?.intValue { threadNames.insert("\(pid)/\(tid)") }
                if name == "process_name" { processNames.insert(pid) }
                #expect(event["args"] != nil, sourceLocation: sourceLocation)
                continue
            }
            #expect(["X", "i", "C"].contains(ph), "phase \(ph)", sourceLocation: sourceLocation)
            let ts = try #require(event["ts"]?.doubleValue, "no ts: \(event.serialized)", sourceLocation: sourceLocation)
            let tid = try #require(event["tid"]?.intValue, "no tid: \(event.serialized)", sourceLocation: sourceLocation)
            #expect(ts == ts.rounded() && ts > epochLow && ts < epochHigh, "ts \(ts) is not microseconds", sourceLocation: sourceLocation)
            let thread = "\(pid)/\(tid)"
            if let previous = last[thread] {
                #expect(ts >= previous, "thread \(thread) goes back from \(previous) to \(ts): \(event.serialized)", sourceLocation: sourceLocation)
            }
            last[thread] = ts
            threadsUsed.insert(thread)
            processesUsed.insert(pid)
            if ph == "X" {
                let dur = try #require(event["dur"]?.doubleValue, "X without dur", sourceLocation: sourceLocation)
                #expect(dur >= 0, sourceLocation: sourceLocation)
            }
            if ph == "i" { #expect(["t", "g"].contains(event["s"]?.stringValue ?? ""), sourceLocation: sourceLocation) }
            if ph == "C" { #expect(event["args"]?.objectCount ?? 0 > 0, sourceLocation: sourceLocation) }
        }
        #expect(threadsUsed.subtracting(threadNames).isEmpty, "threads not named: \(threadsUsed.subtracting(threadNames).sorted())", sourceLocation: sourceLocation)
        #expect(processesUsed.subtracting(processNames).isEmpty, "processes not named", sourceLocation: sourceLocation)
        // A rank's thread is the rank: the same tid never stands for two threads.
        let tidsByThread = Dictionary(grouping: threadNames, by: { $0.split(separator: "/")[1] })
        #expect(tidsByThread.values.allSatisfy { $0.count == 1 }, "a tid in two processes", sourceLocation: sourceLocation)
    }
}

extension JSONValue {
    var objectCount: Int? {
        if case let .object(members) = self { return members.count }
        return nil
    }
}
