import Foundation
import RanktopTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15: ranktop's death never costs the run. A `kill -9` of the launcher leaves its real
/// ranks training; `ls` shows the run as "collector gone, 2 ranks alive"; `serve --resume` takes
/// them back on the same socket and log; the ranks finish; and the report says when the first
/// collector died, with every event the ranks numbered either in the log or counted as dropped.
@Suite struct CollectorDeathTests {
    static func hellos(_ objects: [[String: Any]]) -> [Int: pid_t] {
        var pids: [Int: pid_t] = [:]
        for object in objects where object["kind"] as? String == "hello" {
            if let rank = object["rank"] as? Int, let pid = object["pid"] as? Int { pids[rank] = pid_t(pid) }
        }
        return pids
    }

    /// Whether `pid` is still a process this test started: its environment names the scratch
    /// directory (XDG_RUNTIME_DIR).
    static func belongs(_ pid: pid_t, to scratch: Scratch) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
        return data.split(separator: 0).contains { Array($0) == Array("XDG_RUNTIME_DIR=\(scratch.path)".utf8) }
    }

    static func ended(_ rank: Int, _ objects: [[String: Any]]) -> Bool {
        objects.contains { $0["kind"] as? String == "bye" && $0["rank"] as? Int == rank }
    }

    @Test func aKilledLauncherLeavesItsRanksTrainingAndServeResumeTakesThemBack() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let environment = ["XDG_STATE_HOME": scratch.file("state"), "XDG_RUNTIME_DIR": scratch.path]
        // Real rank processes of `launch` (not the demo's, which end with their launcher).
        let launch = try LiveProcess(
            ["launch", "-n", "2", "--headless", "--log", log,
             "--", RanktopExecutable.path, "demo-rank", "--steps", "600", "--step-time", "0.05", "--no-early-stop"],
            in: scratch
        )
        let started = try await LiveLog.waitFor(log, "both ranks stepping", timeout: 60) { objects in
            LiveLog.step(of: 0, in: objects) >= 5 && LiveLog.step(of: 1, in: objects) >= 5
        }
        let pids = Self.hellos(started)
        // Long enough (30 s) that a loaded machine does not let the run end before the kill: at
        // 240 steps it once did, before this test's first look at the log.
        #expect(launch.process.isRunning, "the run ended before the test killed its launcher: \(launch.output)")
        // Only ranks of this test: once they exit, pids are reused (pid_max is 32768 here) and a
        // blind kill would hit another test's process.
        defer { for pid in pids.values where Self.belongs(pid, to: scratch) { kill(pid, SIGKILL) } }
        let whileUp = try await ProcessRunner.ranktop(["ls", "--json"], environment: environment)
        let upRows = try JSONSerialization.jsonObject(with: Data(whileUp.stdout.utf8)) as? [[String: Any]] ?? []
        let upRow = try #require(upRows.first { $0["collector"] as? String == "up" }, "ls: \(whileUp.stdout) \(whileUp.stderr)")
        #expect(upRow["world"] as? Int == 2 && upRow["alive"] as? Int == 2, "a live run's row counts its ranks: \(upRow)")
        launch.signal(SIGKILL)
        _ = try await launch.wait(timeout: 10)
        // The ranks' output (they shared the launcher's) says why, if one did not survive.
        #expect(pids.count == 2 && pids.values.allSatisfy { kill($0, 0) == 0 }, "the ranks outlive their launcher: \(launch.output)")

        let listed = try await ProcessRunner.ranktop(["ls", "--json"], environment: environment)
        let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        let row = try #require(rows.first { $0["collector"] as? String == "gone" }, "ls: \(listed.stdout) \(listed.stderr)")
        #expect(row["alive"] as? Int == 2 && row["log"] as? String == log, "\(row)")
        let table = try await ProcessRunner.ranktop(["ls"], environment: environment)
        #expect(table.stdout.contains("collector gone, 2 ranks alive"), "\(table.stdout)")
        let runID = try #require(row["run"] as? String)

        let serve = try LiveProcess(["serve", "--resume", runID], in: scratch)
        let resumed = try await serve.waitForOutput("collector listening on (unix:[^ \\n]+)", timeout: 30)
        // The early stop reaches ranks that reconnected to the new collector.
        let stop = try await ProcessRunner.ranktop(["trigger", resumed, "--reason", "after resume"], environment: environment)
        #expect(stop.status == 0, "trigger on the resumed collector: \(stop.stderr)")
        let finished = try await LiveLog.waitFor(log, "both ranks to stop under the new collector", timeout: 120) { objects in
            Self.ended(0, objects) && Self.ended(1, objects)
        }
        #expect(finished.contains { $0["kind"] as? String == "trigger.check" && $0["fired"] as? Bool == true }, "the injected trigger fired")
        serve.signal(SIGTERM)
        #expect(try await serve.wait(timeout: 30) == 0, "\(serve.output)")
        let afterwards = try await ProcessRunner.ranktop(["ls", "--json"], environment: environment)
        #expect(!afterwards.stdout.contains(runID), "a collector that ended cleanly leaves no run file: \(afterwards.stdout)")

        let result = try await report(log)
        #expect(result.states() == ["exited", "exited"], "\(result.ranks)")
        let collectors = result["collectors"] as? [[String: Any]] ?? []
        #expect(collectors.count == 2, "\(collectors)")
        #expect(collectors.first?["died_ts"] is Double && collectors.last?["end_ts"] is Double, "\(collectors)")
        let diagnosis = result["diagnosis"] as? [String] ?? []
        #expect(diagnosis.contains { $0.contains("died at") && $0.contains("ranks 0-1 were still running then") }, "\(diagnosis)")

        // Nothing uncounted: each rank's events are numbered, and every number is in the log or
        // counted as dropped (what the dead collector had taken but not written).
        for rank in 0..<2 {
            let seqs = finished.filter { $0["rank"] as? Int == rank && $0["kind"] as? String != "hello" }.compactMap { $0["seq"] as? Int }
            let highest = try #require(seqs.max())
            let missing = highest - Set(seqs).count
            let dropped = result.ranks.first { $0["rank"] as? Int == rank }?["dropped"] as? Int ?? -1
            #expect(dropped == missing, "rank \(rank): \(missing) numbers missing from the log, \(dropped) counted as dropped")
            print("collector death: rank \(rank): \(Set(seqs).count) events in the log, \(dropped) counted as dropped, 0 uncounted of \(highest)")
        }
    }

    @Test func rmRemovesWhatADeadCollectorLeftButNotItsLog() async throws {
        let scratch = try Scratch()
        let environment = ["XDG_STATE_HOME": scratch.file("state"), "XDG_RUNTIME_DIR": scratch.path]
        let socket = scratch.file("c.sock")
        let serve = try LiveProcess(["serve", "--listen", "unix:" + socket, "--log", scratch.file("run.jsonl")], in: scratch)
        _ = try await serve.waitForOutput("collector listening", timeout: 30)
        serve.signal(SIGKILL)
        _ = try await serve.wait(timeout: 10)
        let listed = try await ProcessRunner.ranktop(["ls", "--json"], environment: environment)
        let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        let run = try #require(rows.first { $0["collector"] as? String == "gone" }?["run"] as? String, "\(listed.stdout)")
        #expect(try await ProcessRunner.ranktop(["ls"], environment: environment).stdout.contains("collector gone, no rank alive"))
        let removed = try await ProcessRunner.ranktop(["rm", run], environment: environment)
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: socket), "the stale socket")
        #expect(FileManager.default.fileExists(atPath: scratch.file("run.jsonl")), "the log stays")
        let after = try await ProcessRunner.ranktop(["ls", "--json"], environment: environment)
        #expect(!after.stdout.contains(run), "\(after.stdout)")
    }

    /// A dead collector's log too large to read whole: `ls` folds its start (the hellos) and its
    /// end (where each rank ended up), so it still counts the ranks and who ended.
    @Test func aDeadCollectorsLargeLogIsGlancedAtItsStartAndItsEnd() async throws {
        let scratch = try Scratch()
        let environment = ["XDG_STATE_HOME": scratch.file("state"), "XDG_RUNTIME_DIR": scratch.path]
        let log = scratch.file("run.jsonl")
        // Ranks on other nodes: `ls` counts them alive while the log says they run.
        func hello(_ rank: Int) -> String {
            #"{"kind":"hello","rank":\#(rank),"ts":1000.0,"seq":0,"v":1,"run":"big","world":2,"local_rank":0,"local_world":1,"node":"elsewhere-\#(rank)","pid":\#(4000 + rank),"runtime":"test"}"#
        }
        #expect(FileManager.default.createFile(atPath: log, contents: Data((hello(0) + "\n" + hello(1) + "\n").utf8)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        // About 80 MB of steps between them, more than the 2 x 32 MB `ls` reads of a dead log.
        var seq = 1
        for _ in 0..<80 {
            var chunk = ""
            for _ in 0..<10_000 {
                chunk += #"{"kind":"progress","rank":0,"ts":1001.0,"seq":\#(seq),"step":\#(seq),"metrics":{"loss":0.5}}"# + "\n"
                seq += 1
            }
            try handle.write(contentsOf: Data(chunk.utf8))
        }
        try handle.write(contentsOf: Data((#"{"kind":"bye","rank":1,"ts":1002.0,"seq":1,"code":0}"# + "\n").utf8))
        try handle.close()
        let size = try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int ?? 0
        #expect(size > 64 << 20, "\(size) bytes")

        let serve = try LiveProcess(["serve", "--listen", "unix:" + scratch.file("c.sock"), "--log", log], in: scratch)
        _ = try await serve.waitForOutput("collector listening", timeout: 60)
        serve.signal(SIGKILL)
        _ = try await serve.wait(timeout: 10)
        let listed = try await ProcessRunner.ranktop(["ls", "--json"], environment: environment)
        let rows = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        let row = try #require(rows.first { $0["collector"] as? String == "gone" }, "ls: \(listed.stdout) \(listed.stderr)")
        #expect(row["world"] as? Int == 2 && row["ranks"] as? Int == 2, "the hellos at its start: \(row)")
        #expect(row["alive"] as? Int == 1, "rank 1's bye at its end: \(row)")
        #expect((row["last_ts"] as? Double ?? 0) >= 1002.0, "\(row)")
    }
}
