import Foundation
import RanktopTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The whole live pipeline with real processes: `ranktop demo` / `launch` starting ranks on the
/// Swift runtime, their emitters, the collector, `ranktop trigger`, the log and `ranktop report`.
@Suite("Live pipeline end to end", .serialized)
struct DemoPipelineTests {
    @Test(arguments: ["unix", "tcp"])
    func test_theDemoRunsToCompletionAndTheReportShowsEveryRankThePhaseAndTheBarriers(transport: String) async throws {
        let scratch = try Scratch()
        let log = scratch.file("demo.jsonl")
        let demo = try LiveProcess(["demo", "--ranks", "4", "--steps", "40", "--transport", transport, "--headless", "--log", log], in: scratch)
        #expect(try await demo.wait(timeout: 120) == 0, "\(demo.output)")
        let prefix = transport == "unix" ? "unix:\(scratch.path)/ranktop/r-" : "tcp://127.0.0.1:"
        #expect(demo.stdout.contains("(ranks report to \(prefix)"), "\(demo.stdout)")
        let summary = demo.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.contains("finished: 4/4 ranks exited cleanly") && summary.hasSuffix("0 dropped, log \(log)"), "\(summary)")

        let json = try await report(log)
        #expect(json.states() == ["exited", "exited", "exited", "exited"])
        #expect((json["open_barriers"] as? [Any])?.isEmpty == true)
        #expect((json["completed_barriers"] as? Int ?? 0) >= 4, "load_dataset, checkpoints, evaluation")
        let phases = json["phases"] as? [[String: Any]] ?? []
        let dataset = phases.first { $0["name"] as? String == "load_dataset" }
        #expect(dataset?["mode"] as? String == "main_first")
        #expect(dataset?["complete"] as? Bool == true)
        #expect(json["dropped"] as? Int == 0)
        #expect(json["rejected"] as? Int == 0)
    }

    @Test(arguments: ["unix", "tcp"])
    func test_triggerStopsALongDemoWithEveryRankStoppingAtTheSameCheck(transport: String) async throws {
        let scratch = try Scratch()
        let log = scratch.file("demo.jsonl")
        let demo = try LiveProcess(["demo", "--ranks", "4", "--steps", "400", "--transport", transport, "--headless", "--log", log], in: scratch)
        let address = try await demo.waitForOutput(#"ranks report to (\S+)\)"#, timeout: 30)
        try await LiveLog.waitFor(log, "training steps", timeout: 60) { LiveLog.step(of: 0, in: $0) >= 2 }

        let trigger = try LiveProcess(["trigger", address, "--reason", "stopped by the test"], in: scratch)
        #expect(try await trigger.wait(timeout: 30) == 0, "\(trigger.output)")
        let id = trigger.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.range(of: #"^inj-[0-9a-f]{8}$"#, options: .regularExpression) != nil, "\(trigger.output)")

        #expect(try await demo.wait(timeout: 60) == 0, "\(demo.output)")
        let checks = demo.stdout.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: #"stopped at step \d+ \(trigger check (\d+)\)"#, options: .regularExpression) else { return nil }
            return Int(line[range].split(separator: " ").last!.dropLast())
        }
        #expect(checks.count == 4, "every rank says where it stopped:\n\(demo.stdout)")
        #expect(Set(checks).count == 1, "every rank stopped at the same check: \(checks)")

        let json = try await report(log)
        #expect(json.states() == ["exited", "exited", "exited", "exited"])
        let triggers = json["triggers"] as? [[String: Any]] ?? []
        #expect(triggers.count == 1)
        #expect(triggers.first?["source"] as? String == "manual")
        #expect(triggers.first?["id"] as? String == id)
        #expect(triggers.first?["check"] as? Int == checks.first)
        #expect((triggers.first?["by"] as? String)?.contains("@") == true)
        let objects = LiveLog.objects(log)
        let fired = objects.filter { $0["kind"] as? String == "trigger.check" && $0["fired"] as? Bool == true }
        #expect(Set(fired.compactMap { $0["rank"] as? Int }) == [0, 1, 2, 3])
        #expect(Set(fired.compactMap { $0["n"] as? Int }) == Set(checks))
        let injects = objects.filter { $0["kind"] as? String == "inject" }
        #expect(injects.count == 1 && injects.first?["rank"] as? Int == -1 && injects.first?["reason"] as? String == "stopped by the test")
    }

    @Test func test_killingOneRankLeavesItLostAndMissingFromTheOthersOpenBarrier() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        // A checkpoint barrier every step and rank 3 the slow one: rank 3 is almost always
        // computing when it is killed, and the others then wait for it at the next barrier.
        let launch = try LiveProcess(
            ["launch", "-n", "4", "--headless", "--log", log, "--", RanktopExecutable.path, "demo-rank", "--steps", "400",
             "--checkpoint-every", "1", "--no-early-stop", "--slow-rank", "3"], in: scratch
        )
        let objects = try await LiveLog.waitFor(log, "rank 3 training", timeout: 60) { LiveLog.step(of: 3, in: $0) >= 3 }
        let hello = try #require(objects.first { $0["kind"] as? String == "hello" && $0["rank"] as? Int == 3 })
        let pid = try #require(hello["pid"] as? Int)
        kill(pid_t(pid), SIGKILL)

        #expect(try await launch.wait(timeout: 90) == 128 + SIGKILL, "launch exits with the killed rank's status")
        #expect(launch.stderr.contains("rank 3 was killed by SIGKILL"))
        let json = try await report(log)
        let rank3 = json.ranks.first { $0["rank"] as? Int == 3 }
        #expect(rank3?["state"] as? String == "lost")
        let open = json["open_barriers"] as? [[String: Any]] ?? []
        let barrier = try #require(open.first { ($0["missing"] as? [Int]) == [3] }, "open barriers: \(open)")
        #expect(barrier["arrived"] as? [Int] == [0, 1, 2])
        #expect(barrier["name"] as? String == "save_checkpoint")
    }

    @Test func test_withoutHeadlessThePlainLiveViewFollowsTheRunToItsEnd() async throws {
        let scratch = try Scratch()
        let demo = try LiveProcess(["demo", "--ranks", "2", "--steps", "12", "--log", scratch.file("demo.jsonl")], in: scratch)
        #expect(try await demo.wait(timeout: 90) == 0, "\(demo.output)")
        let lines = demo.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ranktop: watching unix:") == true, "\(demo.stdout)")
        #expect(lines.contains { $0.range(of: #"^\[ *[0-9.]+s\] step \d+/12"#, options: .regularExpression) != nil }, "\(demo.stdout)")
        #expect(lines.contains { $0.hasSuffix("run ended: 2 ranks: 2 exited") }, "\(demo.stdout)")
        #expect(lines.last?.contains("finished: 2/2 ranks exited cleanly") == true)
    }

    @Test func test_ctrlCReachesEveryRankOnceAndLaunchExitsWithTheirStatus() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let launch = try LiveProcess(
            ["launch", "-n", "3", "--headless", "--log", log, "--", RanktopExecutable.path, "demo-rank", "--steps", "400", "--no-early-stop"],
            in: scratch
        )
        try await LiveLog.waitFor(log, "training steps", timeout: 60) { LiveLog.step(of: 0, in: $0) >= 2 }
        launch.signal(SIGINT)
        #expect(try await launch.wait(timeout: 30) == 128 + SIGINT, "\(launch.output)")
        #expect(launch.stderr.contains("forwarding SIGINT to 3 processes"))
        #expect(!launch.stderr.contains("stopping the other ranks"), "a user's Ctrl-C is not a rank failure")
        let byes = LiveLog.objects(log).filter { $0["kind"] as? String == "bye" }
        #expect(byes.count == 3, "each rank got the SIGINT and said so")
        #expect(Set(byes.compactMap { $0["rank"] as? Int }) == [0, 1, 2])
    }

    @Test func test_restartingServeMidRunLeavesTrainingRunningRanksReconnectAndDropsAreCounted() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let socket = "unix:\(scratch.file("c.sock"))"
        let first = try LiveProcess(["serve", "--listen", socket, "--log", log], in: scratch)
        _ = try await first.waitForOutput("collector listening", timeout: 20)
        // 20,000 events a second: a 2-second outage is far more than the emitter's 1 MiB queue.
        let ranks = try (0..<2).map { rank in
            try LiveProcess(
                ["flood-rank", "--seconds", "8", "--rate", "20000"], executable: Bench.path,
                environment: ["RANK": "\(rank)", "WORLD_SIZE": "2", "RANKTOP_ADDR": socket], in: scratch
            )
        }
        try await LiveLog.waitFor(log, "both ranks reporting", timeout: 20) { objects in
            LiveLog.step(of: 0, in: objects) > 0 && LiveLog.step(of: 1, in: objects) > 0
        }
        first.signal(SIGKILL)
        _ = try await first.wait(timeout: 10)
        // The outage itself, not a wait for something: its length is what the test is about.
        try await Task.sleep(for: .seconds(2))
        let second = try LiveProcess(["serve", "--listen", socket, "--log", log], in: scratch)
        _ = try await second.waitForOutput("collector listening", timeout: 20)

        var emitterDrops = 0
        for rank in ranks {
            #expect(try await rank.wait(timeout: 60) == 0, "\(rank.output)")
            let result = try Bench.floodResult(rank)
            #expect((result["emitted"] as? Int ?? 0) >= 120_000, "the training loop kept its pace through the outage: \(result)")
            #expect((result["connections"] as? Int ?? 0) >= 2, "the rank reconnected: \(result)")
            emitterDrops += result["dropped"] as? Int ?? 0
        }
        second.signal(SIGINT)
        #expect(try await second.wait(timeout: 20) == 0)

        #expect(emitterDrops > 0, "the outage outlasted the emitters' queues")
        let json = try await report(log)
        #expect(json.states() == ["exited", "exited"])
        // The restarted collector read the log first, so the gaps across the restart are counted:
        // every event an emitter dropped (less one warning per rank it may count after its `bye`),
        // plus what died with the killed collector (its unflushed second and its socket buffers).
        let counted = json["dropped"] as? Int ?? 0
        #expect(counted >= emitterDrops - 2, "log says \(counted) dropped, the emitters \(emitterDrops)")
        #expect(counted <= emitterDrops + 2 * 20_000 * 2, "log says \(counted) dropped, the emitters \(emitterDrops)")
        let hellos = LiveLog.objects(log).filter { $0["kind"] as? String == "hello" }
        #expect(hellos.filter { $0["rank"] as? Int == 0 }.count >= 2 && hellos.filter { $0["rank"] as? Int == 1 }.count >= 2)
    }

    @Test func test_aFloodingRankNeverBlocksItsTrainingThreadEvenWhenTheCollectorStopsReading() async throws {
        let scratch = try Scratch()
        let socket = "unix:\(scratch.file("c.sock"))"
        let serve = try LiveProcess(["serve", "--listen", socket, "--log", scratch.file("run.jsonl")], in: scratch)
        _ = try await serve.waitForOutput("collector listening", timeout: 20)
        serve.signal(SIGSTOP)
        defer { serve.signal(SIGCONT) }
        let rank = try LiveProcess(
            ["flood-rank", "--seconds", "2"], executable: Bench.path,
            environment: ["RANK": "0", "WORLD_SIZE": "1", "RANKTOP_ADDR": socket], in: scratch
        )
        #expect(try await rank.wait(timeout: 30) == 0, "\(rank.output)")
        let result = try Bench.floodResult(rank)
        // A thread that waited for the socket would get no further than the kernel's buffers
        // (a few thousand events); this one kept going and the emitter dropped the overflow.
        #expect((result["emitted"] as? Int ?? 0) >= 100_000, "\(result)")
        #expect((result["dropped"] as? Int ?? 0) > 0, "\(result)")
        serve.signal(SIGCONT)
        serve.signal(SIGINT)
        #expect(try await serve.wait(timeout: 20) == 0)
    }

    @Test func test_theCollectorsMemoryStaysBoundedUnderAFloodAndAViewerThatNeverReads() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let socket = scratch.file("c.sock")
        let serve = try LiveProcess(["serve", "--listen", "unix:\(socket)", "--log", log], in: scratch)
        _ = try await serve.waitForOutput("collector listening", timeout: 20)
        let stalledViewer = try StalledViewer(path: socket)
        defer { stalledViewer.close() }
        try await Task.sleep(for: .milliseconds(300))
        let baseline = try #require(residentBytes(serve.pid))

        let ranks = try (0..<2).map { rank in
            try LiveProcess(
                ["flood-rank", "--seconds", "5"], executable: Bench.path,
                environment: ["RANK": "\(rank)", "WORLD_SIZE": "2", "RANKTOP_ADDR": "unix:\(socket)"], in: scratch
            )
        }
        var peak = baseline
        while ranks.contains(where: { $0.process.isRunning }) {
            peak = max(peak, residentBytes(serve.pid) ?? 0)
            try await Task.sleep(for: .milliseconds(50))
        }
        for rank in ranks { #expect(try await rank.wait(timeout: 30) == 0) }
        let logged = fileSize(log)
        serve.signal(SIGINT)
        _ = try await serve.wait(timeout: 20)
        // The viewer that never reads holds the whole log's worth of unsent events; a collector
        // that queued them (or the ranks' backlog) in memory would grow by about as much.
        #expect(logged >= 8 << 20, "enough traffic to tell: \(logged) bytes logged")
        #expect(peak - baseline < logged / 2, "collector grew from \(baseline >> 20) MiB to \(peak >> 20) MiB while logging \(logged >> 20) MiB")
    }
}

/// A viewer that says hello and then never reads a byte.
final class StalledViewer {
    let fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw TestFailure("cannot connect to \(path)") }
        let hello = Array(#"{"kind":"viewer","v":1}"#.utf8) + [0x0A]
        _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    }

    func close() { _ = Glibc.close(fd) }
}
