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

        // The launcher then stops the other rank: stopped because of the failure, not a second
        // failure, so the failure hook does not page again; the end hook runs before the
        // launcher exits.
        _ = try await launch.wait(timeout: 60)
        let environment = try String(contentsOfFile: end, encoding: .utf8)
        #expect(environment.contains("RANKTOP_EVENT=end"))
        #expect(environment.contains("RANKTOP_LOG=\(log)"))
        #expect(environment.contains("RANKTOP_DIAGNOSIS="))
        #expect(lines(failures).map { $0["ranks"] as? [Int] ?? [] } == [[1]])
        #expect(try await report(log).states() == ["stopped", "lost"])
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

/// `--metrics`: scraped while the run is stalled, the values say so.
@Suite struct MetricsEndpointTests {
    /// `name{labels} value` lines of a scrape.
    static func scrape(_ url: String) async throws -> [String: Double] {
        let result = try await ProcessRunner.run("/usr/bin/curl", ["-fsS", "--max-time", "5", url])
        guard result.status == 0 else { return [:] }
        var values: [String: Double] = [:]
        for line in result.stdout.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }

    @Test func test_aScrapeDuringAStallShowsItPerRankAndForTheRun() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let launch = try LiveProcess(
            ["launch", "-n", "2", "--headless", "--log", log, "--stall-after", "2", "--metrics", "127.0.0.1:0",
             "--", RanktopExecutable.path, "demo-rank", "--steps", "100000", "--step-time", "0.05", "--no-early-stop"],
            in: scratch
        )
        let url = try await launch.waitForOutput("ranktop: metrics on (http://[^ \\n]+/metrics)", timeout: 60)
        let objects = try await LiveLog.waitFor(log, "both ranks stepping", timeout: 60) { objects in
            LiveLog.step(of: 0, in: objects) >= 3 && LiveLog.step(of: 1, in: objects) >= 3
        }
        let running = try await waitFor("a scrape with both ranks' steps", timeout: 30) { () -> [String: Double]? in
            let values = try await Self.scrape(url)
            return (values["ranktop_rank_step{rank=\"1\"}"] ?? 0) >= 3 ? values : nil
        }
        #expect(running["ranktop_stall_seconds"] == 0)
        #expect((running["ranktop_events"] ?? 0) > 0)
        let hello = try #require(objects.first { $0["kind"] as? String == "hello" && $0["rank"] as? Int == 1 })
        let rank1 = pid_t(try #require(hello["pid"] as? Int))
        kill(rank1, SIGSTOP)
        let stalled = try await waitFor("a scrape saying the run is stalled", timeout: 30) { () -> [String: Double]? in
            let values = try await Self.scrape(url)
            return (values["ranktop_stall_seconds"] ?? 0) > 0 ? values : nil
        }
        #expect(stalled["ranktop_rank_stalled{rank=\"0\"}"] == 1)
        #expect((stalled["ranktop_rank_wait_seconds{rank=\"0\"}"] ?? 0) > 1, "rank 0 waits for rank 1: \(stalled)")
        let stepped = LiveLog.step(of: 1, in: LiveLog.objects(log))
        #expect(stalled["ranktop_rank_step{rank=\"1\"}"] == Double(stepped))
        #expect(try await ProcessRunner.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url.replacingOccurrences(of: "/metrics", with: "/other")]).stdout == "404")
        kill(rank1, SIGCONT)
        launch.signal(SIGTERM)
        _ = try await launch.wait(timeout: 60)
    }
}
