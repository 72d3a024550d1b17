import Foundation
import RanktopProtocol
import RanktopTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `ranktop stack` against a real `ranktop demo --headless` run, found the way `attach` finds
/// one (the newest socket in the run directory) and by its address.
@Suite struct StackCommandTests {
    /// A headless demo of `ranks` ranks with its own runtime directory; stopped by `stop()`.
    final class HeadlessDemo {
        let runtime: String
        let process = Process()

        let log: String

        /// `sharing`: the runtime directory of another demo, for two runs on one host.
        init(ranks: Int, sharing other: HeadlessDemo? = nil) throws {
            runtime = other?.runtime ?? NSTemporaryDirectory() + "ranktop-stack-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            log = runtime + "/demo-\(UInt32.random(in: 0...UInt32.max)).jsonl"
            process.executableURL = RanktopExecutable.url
            process.arguments = ["demo", "--headless", "--ranks", "\(ranks)", "--steps", "100000", "--log", log]
            process.environment = ProcessInfo.processInfo.environment.merging(["XDG_RUNTIME_DIR": runtime]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try ProcessSpawn.run(process)
        }

        var environment: [String: String] { ["XDG_RUNTIME_DIR": runtime] }

        /// The collector's socket, once it listens and every rank said hello.
        func waitUntilRanksReport(_ ranks: Int) async throws -> String {
            try await waitFor("the demo's ranks in its log", timeout: 60) { () -> String? in
                let log = (try? String(contentsOfFile: self.log, encoding: .utf8)) ?? ""
                guard log.components(separatedBy: "\"kind\":\"progress\"").count > ranks else { return nil }
                let directory = runtime + "/ranktop"
                return (try? FileManager.default.contentsOfDirectory(atPath: directory))?.first { $0.hasSuffix(".sock") }.map { directory + "/" + $0 }
            }
        }

        /// `keepingRuntime`: another demo still uses the directory.
        func stop(keepingRuntime: Bool = false) {
            if process.isRunning { kill(process.processIdentifier, SIGINT) }
            process.waitUntilExit()
            if !keepingRuntime { try? FileManager.default.removeItem(atPath: runtime) }
        }
    }

    @Test func everyRankAnswersAndTheStacksAreGroupedOrPrintedAsJSON() async throws {
        let demo = try HeadlessDemo(ranks: 3)
        defer { demo.stop() }
        let socket = try await demo.waitUntilRanksReport(3)

        // No address: the newest local run, as attach finds it.
        let text = try await ProcessRunner.ranktop(["stack"], environment: demo.environment.merging(["LC_ALL": "C.UTF-8"]) { $1 })
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("3 of 3 ranks answered; innermost frame first"), "\(text.stdout)")
        let headers = text.stdout.split(separator: "\n").filter { $0.hasPrefix("rank") && $0.hasSuffix("):") }
        let counted = headers.compactMap { header in Int(header.split(separator: "(").last?.split(separator: " ").first ?? "") }
        #expect(counted.reduce(0, +) == 3, "\(headers)")
        // Swift ranks' frames are the program's own, marked.
        #expect(text.stdout.contains("  ▶ "), "\(text.stdout)")

        let json = try await ProcessRunner.ranktop(["stack", "unix:" + socket, "--json", "--all"], environment: demo.environment)
        #expect(json.status == 0, "\(json.stderr)")
        let value = try #require(JSONValue.parse(json.stdout), "\(json.stdout)")
        let stacks = value["stacks"]?.arrayValue ?? []
        #expect(stacks.compactMap { $0["rank"]?.intValue } == [0, 1, 2])
        #expect(stacks.allSatisfy { ($0["frames"]?.arrayValue?.isEmpty == false) && $0["ts"]?.doubleValue != nil })
        #expect(value["missing"]?.arrayValue?.isEmpty == true)
    }

    @Test func aRankThatDoesNotAnswerIsListedAndTheExitStatusSaysSo() async throws {
        let demo = try HeadlessDemo(ranks: 2)
        defer { demo.stop() }
        let socket = try await demo.waitUntilRanksReport(2)
        let result = try await ProcessRunner.ranktop(["stack", "unix:" + socket, "1", "9", "--timeout", "2"], environment: demo.environment)
        #expect(result.status == 1, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("1 of 2 ranks answered"))
        #expect(result.stdout.contains("rank 1 (1 rank):"))
        #expect(result.stdout.contains("no answer from rank 9: not connected"), "\(result.stdout)")
        let json = try await ProcessRunner.ranktop(["stack", "unix:" + socket, "9", "--json"], environment: demo.environment)
        #expect(json.status == 1)
        #expect(json.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"stacks":[],"missing":[9]}"#)
    }

    @Test func noRunToAskExitsTwoWithAReason() async throws {
        let empty = NSTemporaryDirectory() + "ranktop-stack-none-\(getpid())"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let none = try await ProcessRunner.ranktop(["stack"], environment: ["XDG_RUNTIME_DIR": empty])
        #expect(none.status == 2)
        #expect(none.stderr.contains("no running collector in \(empty)/ranktop"), "\(none.stderr)")
        let gone = try await ProcessRunner.ranktop(["stack", "unix:\(empty)/gone.sock", "0"])
        #expect(gone.status == 2)
        #expect(gone.stderr.contains("nothing listens at unix:\(empty)/gone.sock"), "\(gone.stderr)")
        // A collector with no rank connected: no run either.
        let serve = Process()
        serve.executableURL = RanktopExecutable.url
        serve.arguments = ["serve", "--listen", "unix:\(empty)/serve.sock", "--log", "\(empty)/serve.jsonl"]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try ProcessSpawn.run(serve)
        defer {
            kill(serve.processIdentifier, SIGINT)
            serve.waitUntilExit()
        }
        try await waitUntil("serve listening", timeout: 30) { FileManager.default.fileExists(atPath: "\(empty)/serve.sock") }
        let idle = try await ProcessRunner.ranktop(["stack", "unix:\(empty)/serve.sock", "--timeout", "1"])
        #expect(idle.status == 2, "\(idle.stdout) \(idle.stderr)")
        #expect(idle.stderr.contains("no rank has connected to the collector yet"), "\(idle.stderr)")
        #expect(idle.stdout.isEmpty)

        let both = try await ProcessRunner.ranktop(["stack", "unix:\(empty)/gone.sock", "0", "--all"])
        #expect(both.status == 64)
        #expect(both.stderr.contains("give ranks or --all, not both"))
    }
}
