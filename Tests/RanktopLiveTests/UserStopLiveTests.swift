import Foundation
import RanktopTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A run the user stops, with real processes: what the launcher says, its exit status, and the
/// report of its log.
@Suite("Stopping a run on the user's word", .serialized)
struct UserStopLiveTests {
    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func test_D16_aHeadlessDemoStoppedBySignalSaysStoppedNotFailed_andTheReportAgrees(signal: Int32) async throws {
        let scratch = try Scratch()
        let log = scratch.file("demo.jsonl")
        let demo = try LiveProcess(["demo", "--ranks", "3", "--steps", "4000", "--headless", "--log", log], in: scratch)
        try await LiveLog.waitFor(log, "training steps", timeout: 60) { LiveLog.step(of: 0, in: $0) >= 2 }
        demo.signal(signal)
        #expect(try await demo.wait(timeout: 30) == 130, "a user's stop exits 130 however it was asked: \(demo.output)")
        let summary = demo.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.contains("stopped by the user ("), "\(summary)")
        #expect(summary.contains("3/3 ranks stopped, 0 exited cleanly"), "\(summary)")
        #expect(!demo.stdout.contains("failed"), "\(demo.stdout)")

        let stops = LiveLog.objects(log).filter { $0["kind"] as? String == "stop" }
        #expect(stops.count == 1 && stops.first?["rank"] as? Int == -1)
        let json = try await report(log)
        #expect(json.states() == ["stopped", "stopped", "stopped"], "\(json.ranks)")
        let diagnosis = json["diagnosis"] as? [String] ?? []
        #expect(diagnosis.count == 2, "no failed or lost rank: \(diagnosis)")
        #expect(diagnosis.first?.hasPrefix("stopped by the user: ") == true, "\(diagnosis)")
        #expect(diagnosis.last?.hasPrefix("nothing failed: 3 of 3 ranks stopped as asked") == true, "\(diagnosis)")
    }

    @Test func test_D16_thePlainLiveViewSaysStoppedNotFailed() async throws {
        let scratch = try Scratch()
        let log = scratch.file("plain.jsonl")
        // Not headless, but stdout is a pipe: the plain text view.
        let demo = try LiveProcess(["demo", "--ranks", "2", "--steps", "4000", "--log", log], in: scratch)
        _ = try await demo.waitForOutput("ranktop: watching ", timeout: 30)
        try await LiveLog.waitFor(log, "training steps", timeout: 60) { LiveLog.step(of: 0, in: $0) >= 2 }
        demo.signal(SIGINT)
        #expect(try await demo.wait(timeout: 30) == 130, "\(demo.output)")
        #expect(demo.stdout.contains("stopping the run: SIGINT received; the ranks get SIGINT"), "\(demo.stdout)")
        #expect(demo.stdout.contains("rank 0 stopped with code 130"), "\(demo.stdout)")
        #expect(demo.stdout.contains("run ended: 2 ranks: 2 stopped"), "\(demo.stdout)")
        #expect(!demo.stdout.contains("failed"), "\(demo.stdout)")
    }

    @Test func test_C13_aSecondSignalDuringTheShutdownExitsAtOnce() async throws {
        let scratch = try Scratch()
        let log = scratch.file("stubborn.jsonl")
        // Ranks that ignore the stop: only the second signal can end the run.
        let launch = try LiveProcess(
            ["launch", "-n", "2", "--headless", "--log", log, "--", "sh", "-c", "trap '' INT TERM; echo ready; sleep 120"],
            in: scratch
        )
        _ = try await launch.waitForOutput("(?s)ready.*ready", timeout: 30)
        launch.signal(SIGINT)
        _ = try await launch.waitForOutput("forwarding SIGINT to 2 processes", timeout: 10)
        let asked = Date()
        launch.signal(SIGINT)
        #expect(try await launch.wait(timeout: 10) == 130, "\(launch.output)")
        #expect(Date().timeIntervalSince(asked) < 5, "the second signal does not wait for the ranks")
        #expect(launch.stderr.contains("ranktop: SIGINT again: killed 2 processes and exiting now"), "\(launch.stderr)")
        #expect(!launch.stderr.contains("ranktop: ranktop:"))
    }

    /// torchrun starts its workers in sessions of their own: killing torchrun's process group
    /// left workers hung in a collective running after ranktop had gone.
    @Test func test_C13_aSecondSignalAlsoKillsTheRunsProcessesInSessionsOfTheirOwn() async throws {
        let scratch = try Scratch()
        let log = scratch.file("escaped.jsonl")
        let pidFile = scratch.file("escaped.pid")
        // A launcher that ignores the stop, with a worker in a new session (as torchrun's are)
        // that ignores it too.
        let script = "trap '' INT TERM; setsid sleep 120 & echo $! > \(pidFile); echo ready; wait"
        let launch = try LiveProcess(["launch", "-n", "1", "--headless", "--log", log, "--", "sh", "-c", script], in: scratch)
        _ = try await launch.waitForOutput("ready", timeout: 30)
        let worker = try #require(pid_t(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // `$!` is known before the child has run `setsid`: wait for its session to be its own.
        try await waitUntil("the worker to lead a session of its own", timeout: 10) { getsid(worker) == worker }
        // Not vacuous: the worker is out of the launcher's process group, and alive.
        #expect(getpgid(worker) == getsid(worker) && getsid(worker) == worker, "the worker leads a session of its own")
        #expect(kill(worker, 0) == 0)
        launch.signal(SIGINT)
        _ = try await launch.waitForOutput("forwarding SIGINT to 1 process ", timeout: 10)
        launch.signal(SIGINT)
        #expect(try await launch.wait(timeout: 10) == 130, "\(launch.output)")
        #expect(launch.stderr.contains("killed 1 process and 1 more of the run's in sessions of their own (pid \(worker))"), "\(launch.stderr)")
        // Killed, then reaped by whoever inherited it (a zombie until then).
        do {
            try await waitUntil("the worker in its own session to be gone with ranktop", timeout: 10) {
                kill(worker, 0) != 0 || Self.isZombie(worker)
            }
        } catch {
            kill(worker, SIGKILL) // Still alive: not a reused pid.
            throw error
        }
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return stat[close...].dropFirst(2).first == "Z"
    }
}
