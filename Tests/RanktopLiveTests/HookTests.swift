import Foundation
import RanktopTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--on-stall`, `--on-failure`, `--on-end` on a real launch of demo ranks: a rank stopped
/// with SIGSTOP makes one stall episode however long it lasts, a second stop a second one, a
/// SIGKILL one failure, the end one end; each hook gets the diagnosis in its environment and as
/// JSON on stdin.
@Suite(.serialized) struct HookTests {
    func lines(_ path: String) -> [[String: Any]] {
        LiveLog.objects(path)
    }

    func newestTs(_ log: String) -> Double {
        LiveLog.objects(log).compactMap { $0["ts"] as? Double }.max() ?? 0
    }

    @Test func test_eachStallEpisodeFailureAndTheEndRunTheirHookOnce() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let (stalls, failures, end) = (scratch.file("stall.jsonl"), scratch.file("failure.jsonl"), scratch.file("end.env"))
        let launch = try LiveProcess(
            ["launch", "-n", "2", "--headless", "--log", log, "--stall-after", "2",
             "--on-stall", "cat >> '\(stalls)'", "--on-failure", "cat >> '\(failures)'", "--on-end", "env | grep '^RANKTOP_' > '\(end)'",
             "--", RanktopExecutable.path, "demo-rank", "--steps", "100000", "--step-time", "0.05", "--no-early-stop"],
            in: scratch
        )
        let objects = try await LiveLog.waitFor(log, "both ranks stepping", timeout: 60) { objects in
            LiveLog.step(of: 0, in: objects) >= 3 && LiveLog.step(of: 1, in: objects) >= 3
        }
        let hello = try #require(objects.first { $0["kind"] as? String == "hello" && $0["rank"] as? Int == 1 })
        let rank1 = pid_t(try #require(hello["pid"] as? Int))

        // One stall: the hook runs once, and not again while it lasts.
        kill(rank1, SIGSTOP)
        try await waitUntil("the stall hook", timeout: 30) { lines(stalls).count == 1 }
        let first = try #require(lines(stalls).first)
        #expect(first["event"] as? String == "stall")
        #expect(first["log"] as? String == log)
        #expect((first["diagnosis"] as? String)?.contains("rank 1") == true, "\(first)")
        #expect((first["ranks"] as? [Int])?.isEmpty == false)
        let firstTs = try #require(first["ts"] as? Double)
        try await waitUntil("four more seconds of the stall in the log", timeout: 30) { newestTs(log) >= firstTs + 4 }
        #expect(lines(stalls).count == 1, "the hook ran again within one stall")

        // It ends when the rank moves on; a second stop is a second episode.
        kill(rank1, SIGCONT)
        let resumedAt = LiveLog.step(of: 1, in: LiveLog.objects(log))
        _ = try await LiveLog.waitFor(log, "rank 1 stepping again", timeout: 30) { LiveLog.step(of: 1, in: $0) >= resumedAt + 40 }
        #expect(lines(stalls).count == 1)
        kill(rank1, SIGSTOP)
        try await waitUntil("the second stall's hook", timeout: 30) { lines(stalls).count == 2 }

        // A lost rank: one failure, naming it.
        kill(rank1, SIGKILL)
        try await waitUntil("the failure hook", timeout: 30) { lines(failures).count == 1 }
        #expect(lines(failures).first?["ranks"] as? [Int] == [1])
        #expect(lines(failures).first?["event"] as? String == "failure")

        // The launcher then stops the other rank (its exit status is a failure too, its own
        // episode); the end hook runs before the launcher exits.
        _ = try await launch.wait(timeout: 60)
        let environment = try String(contentsOfFile: end, encoding: .utf8)
        #expect(environment.contains("RANKTOP_EVENT=end"))
        #expect(environment.contains("RANKTOP_LOG=\(log)"))
        #expect(environment.contains("RANKTOP_DIAGNOSIS="))
        #expect(lines(failures).map { $0["ranks"] as? [Int] ?? [] } == [[1], [0]])
    }

    @Test func test_aHookThatHangsIsKilledAtItsTimeoutAndReported_theRunGoesOn() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let launch = try LiveProcess(
            ["launch", "-n", "1", "--headless", "--log", log, "--on-end", "sleep 60", "--hook-timeout", "1",
             "--", RanktopExecutable.path, "demo-rank", "--steps", "5", "--step-time", "0.01"],
            in: scratch
        )
        #expect(try await launch.wait(timeout: 60) == 0)
        #expect(launch.stderr.contains("--on-end hook did not finish in 1.0s and was killed: sleep 60"), "\(launch.stderr)")
    }
}
