import Foundation
import RanktopTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `launch`, `run`, `serve` and `trigger` as a user runs them: the built binary, real processes.
@Suite("Launcher and collector processes", .serialized)
struct LauncherTests {
    @Test func test_launchGivesEveryRankTorchrunsEnvironmentAndSummarizesTheRun() async throws {
        let scratch = try Scratch()
        let script = try scratch.write("rank.py", FakeRank.script)
        let log = scratch.file("run.jsonl")
        let launch = try LiveProcess(["launch", "-n", "3", "--headless", "--log", log, "--", "python3", script, "4"], in: scratch)
        #expect(try await launch.wait(timeout: 60) == 0)
        let lines = launch.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("ranktop: run r-") == true && lines.first?.contains("log \(log)") == true)
        let summary = try #require(lines.last)
        #expect(summary.range(of: #"^ranktop: run r-\S+ finished: 3/3 ranks exited cleanly, 4 steps, 0 dropped, log "#, options: .regularExpression) != nil, "\(summary)")
        #expect(summary.hasSuffix("log \(log)"))

        let json = try await report(log)
        #expect(json.states() == ["exited", "exited", "exited"])
        #expect(json["completed_barriers"] as? Int == 4)
        let hellos = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["kind"] as? String == "hello" }
        #expect(hellos.map { $0["world"] as? Int } == [3, 3, 3])
        #expect(Set(hellos.compactMap { $0["master"] as? String }).count == 1, "one MASTER_ADDR:MASTER_PORT for all ranks")
        #expect(hellos.allSatisfy { ($0["master"] as? String)?.hasPrefix("127.0.0.1:") == true })
        #expect(Set(hellos.compactMap { $0["run"] as? String }).count == 1)
    }

    @Test func test_launchExitsWithTheFirstFailingStatusAndTheFailedRankIsLost() async throws {
        let scratch = try Scratch()
        let script = try scratch.write("rank.py", FakeRank.script)
        let log = scratch.file("run.jsonl")
        let launch = try LiveProcess(
            ["launch", "-n", "2", "--headless", "--log", log, "--", "python3", script, "3"],
            environment: ["FAIL_RANK": "1"], in: scratch
        )
        #expect(try await launch.wait(timeout: 60) == 3)
        #expect(launch.stderr.contains("rank 1 exited with status 3"))
        #expect(launch.stdout.contains("finished: 1/2 ranks exited cleanly"))
        #expect(try await report(log).states() == ["exited", "lost"])
    }

    /// As torchrun does, the launcher stops the other ranks once one fails; they are then
    /// stopped (by ranktop, for a reason the log names), not more failures that hide the one.
    @Test func test_ranksTheLauncherStopsAfterAFailureAreStoppedNotFailed() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let demo = try LiveProcess(["demo", "--headless", "--scenario", "crash", "--log", log], in: scratch)
        #expect(try await demo.wait(timeout: 90) == 1, "\(demo.output)")
        #expect(demo.stdout.contains("stopped after a failure (rank 3 exited with status 1): 3/4 ranks stopped"), "\(demo.stdout)")
        let result = try await report(log)
        #expect(result.states() == ["stopped", "stopped", "stopped", "failed"], "\(result.ranks)")
        let stop = result["stop"] as? [String: Any]
        #expect(stop?["source"] as? String == "failure" && stop?["reason"] as? String == "rank 3 exited with status 1", "\(String(describing: stop))")
        let diagnosis = result["diagnosis"] as? [String] ?? []
        #expect(diagnosis.contains { $0.contains("the launcher stopped the other ranks after rank 3 exited with status 1; ranks 0-2 stopped by SIGTERM") }, "\(diagnosis)")
        #expect(!diagnosis.contains { $0.contains("stopped by the user") }, "\(diagnosis)")
    }

    @Test(arguments: ["unix", "tcp"])
    func test_runGivesEverythingUnderItTheCollectorAndThePythonHook(transport: String) async throws {
        let scratch = try Scratch()
        let listen = transport == "unix" ? "unix:\(scratch.file("c.sock"))" : "tcp://127.0.0.1:0"
        let run = try LiveProcess(
            ["run", "--headless", "--listen", listen, "--log", scratch.file("run.jsonl"), "--", "sh", "-c",
             #"echo "ADDR=$RANKTOP_ADDR RUN=$RANKTOP_RUN PYTHONPATH=$PYTHONPATH"; exit 7"#],
            environment: ["PYTHONPATH": "/elsewhere"], in: scratch
        )
        #expect(try await run.wait(timeout: 30) == 7, "run exits with the command's status")
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("ADDR=") })
        if transport == "unix" {
            #expect(line.contains("ADDR=unix:\(scratch.file("c.sock"))"))
        } else {
            #expect(line.range(of: #"ADDR=tcp://127\.0\.0\.1:[1-9][0-9]*"#, options: .regularExpression) != nil)
        }
        #expect(line.range(of: #"RUN=r-\d{8}-\d{6}-[0-9a-f]{4}"#, options: .regularExpression) != nil)
        #expect(line.range(of: #"PYTHONPATH=/\S+/clients/python/ranktop/_autoload:/\S+/clients/python:/elsewhere"#, options: .regularExpression) != nil, "\(line)")
    }

    @Test func test_theDefaultLogGoesToTheStateDirectoryAndTheSocketIsPrivate() async throws {
        let scratch = try Scratch()
        let run = try LiveProcess(["run", "--headless", "--", "sh", "-c", #"echo "ADDR=$RANKTOP_ADDR"; ls -l "${RANKTOP_ADDR#unix:}"; ls -ld "$(dirname "${RANKTOP_ADDR#unix:}")""#], in: scratch)
        #expect(try await run.wait(timeout: 30) == 0)
        let runs = scratch.file("state") + "/ranktop/runs/"
        #expect(run.stdout.range(of: "log \(runs)r-[0-9-a-f]+\\.jsonl", options: .regularExpression) != nil, "\(run.stdout)")
        #expect(run.stdout.contains("ADDR=unix:\(scratch.path)/ranktop/r-"))
        #expect(run.stdout.contains("srw-------"), "socket 0600")
        #expect(run.stdout.contains("drwx------"), "directory 0700")
    }

    @Test func test_triggerFailsClearlyWhenNothingListensOrTheTokenIsWrong() async throws {
        let scratch = try Scratch()
        let nobody = try LiveProcess(["trigger", "unix:\(scratch.file("none.sock"))"], in: scratch)
        #expect(try await nobody.wait(timeout: 20) != 0)
        #expect(nobody.stderr.contains("nothing listens at unix:\(scratch.file("none.sock"))"))

        let serve = try LiveProcess(["serve", "--listen", "tcp://0.0.0.0:0", "--token", "s3cret", "--log", scratch.file("s.jsonl")], in: scratch)
        let port = try await serve.waitForOutput(#"listening on tcp://0\.0\.0\.0:(\d+)"#, timeout: 20)
        let wrong = try LiveProcess(["trigger", "tcp://127.0.0.1:\(port)", "--token", "guess"], in: scratch)
        #expect(try await wrong.wait(timeout: 20) != 0)
        #expect(wrong.stderr.contains("wrong token"))
        // Another user's run directory holds no token file for this collector.
        let elsewhere = try Scratch()
        let missing = try LiveProcess(["trigger", "tcp://127.0.0.1:\(port)"], environment: ["XDG_RUNTIME_DIR": elsewhere.path, "RANKTOP_TOKEN": ""], in: scratch)
        #expect(try await missing.wait(timeout: 20) != 0)
        #expect(missing.stderr.contains("requires a token"))
        serve.signal(SIGINT)
        #expect(try await serve.wait(timeout: 20) == 0)
        #expect(serve.stdout.contains("collector stopped"))
    }

    @Test func test_serveWithoutATokenMakesOneThatOnlyThisUsersToolsFind() async throws {
        let scratch = try Scratch()
        let serve = try LiveProcess(["serve", "--listen", "tcp://127.0.0.1:0", "--log", scratch.file("s.jsonl")], environment: ["RANKTOP_TOKEN": ""], in: scratch)
        let port = try await serve.waitForOutput(#"listening on tcp://127\.0\.0\.1:(\d+)"#, timeout: 20)
        let path = try await serve.waitForOutput(#"token in (\S+\.token)"#, timeout: 20)
        #expect(path.hasPrefix(scratch.path + "/ranktop/"))
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600, "token file 0600")
        let token = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
        #expect(token.count == 32, "a 128-bit token")
        #expect(!serve.stdout.contains(token) && !serve.stderr.contains(token), "the token is never printed")

        // Found by this user's trigger with no --token: accepted (then withdrawn, since no rank runs).
        let found = try LiveProcess(["trigger", "tcp://127.0.0.1:\(port)", "--timeout", "1"], environment: ["RANKTOP_TOKEN": ""], in: scratch)
        #expect(try await found.wait(timeout: 20) == 1)
        #expect(found.stderr.contains("withdrew it"), "\(found.stderr)")
        // Without the file, loopback TCP is closed to it.
        let elsewhere = try Scratch()
        let stranger = try LiveProcess(["trigger", "tcp://127.0.0.1:\(port)"], environment: ["XDG_RUNTIME_DIR": elsewhere.path, "RANKTOP_TOKEN": ""], in: scratch)
        #expect(try await stranger.wait(timeout: 20) == 1)
        #expect(stranger.stderr.contains("requires a token"))
        serve.signal(SIGINT)
        #expect(try await serve.wait(timeout: 20) == 0)
        #expect(!FileManager.default.fileExists(atPath: path), "removed when the collector stops")
        #expect(try String(contentsOfFile: scratch.file("s.jsonl"), encoding: .utf8).contains("withdrawn"))
    }
}
