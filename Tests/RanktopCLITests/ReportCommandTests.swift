import Foundation
import Testing
import RanktopProtocol

/// Runs the built `ranktop` binary as a real process.
enum RanktopBinary {
    static var url: URL {
        if let explicit = ProcessInfo.processInfo.environment["RANKTOP_BIN"] { return URL(fileURLWithPath: explicit) }
        // The test runner lives in the build folder beside the products.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("ranktop")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/ranktop")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite struct ReportCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("RanktopModelTests/Fixtures")

    func fixture(_ name: String) -> String { Self.fixtures.appendingPathComponent("\(name).jsonl").path }

    @Test func theTextReportPutsTheHangDiagnosisFirst() throws {
        let result = try RanktopBinary.run(["report", fixture("hang")])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let diagnosis = lines.firstIndex(of: "DIAGNOSIS").map { lines[$0 + 1] } ?? ""
        #expect(diagnosis.contains("barrier #1 \"save_checkpoint\" open 14m3"))
        #expect(diagnosis.contains("7/8 arrived; missing rank 5 (node-1)"))
    }

    @Test(arguments: ["clean", "hang", "crash", "lost", "mismatch", "code_trigger", "manual_trigger", "hostile"])
    func jsonOutputIsOneObjectWithTheContractedFields(name: String) throws {
        let result = try RanktopBinary.run(["report", fixture(name), "--json"])
        #expect(result.status == 0, "exit 0 whatever the run did")
        let json = try #require(JSONValue.parse(result.stdout))
        for key in ["run", "world", "events", "rejected", "ranks", "open_barriers", "mismatches", "triggers", "stragglers", "phases"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        for rank in json["ranks"]?.arrayValue ?? [] {
            for key in ["rank", "state", "step", "barrier", "phase", "last_ts"] { #expect(rank[key] != nil) }
            #expect(["running", "waiting", "exited", "failed", "lost"].contains(rank["state"]?.stringValue ?? ""))
        }
        let ranks = (json["ranks"]?.arrayValue ?? []).compactMap { $0["rank"]?.intValue }
        #expect(ranks == ranks.sorted())
    }

    @Test func aMissingLogExitsTwoWithAClearMessage() throws {
        let result = try RanktopBinary.run(["report", "/nonexistent/run.jsonl"])
        #expect(result.status == 2)
        #expect(result.stderr == "ranktop: cannot open '/nonexistent/run.jsonl': No such file or directory\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func aDirectoryIsNotALog() throws {
        let result = try RanktopBinary.run(["report", NSTemporaryDirectory()])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is a directory, not an event log"))
    }

    @Test func anEmptyLogStillGivesAReport() throws {
        let path = NSTemporaryDirectory() + "ranktop-empty-\(UUID().uuidString).jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try RanktopBinary.run(["report", path, "--json"])
        #expect(result.status == 0)
        #expect(JSONValue.parse(result.stdout)?["events"]?.intValue == 0)
    }
}
