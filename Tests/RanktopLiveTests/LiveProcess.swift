import RanktopTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory per test, removed at the end.
final class Scratch {
    let path: String

    init() throws {
        // Short: Unix socket paths must stay under 108 bytes.
        path = "/tmp/rtl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A real process with its output in files (never a full pipe), killed if a test forgets it.
final class LiveProcess {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(_ arguments: [String], executable: String = RanktopExecutable.path, environment: [String: String] = [:], in scratch: Scratch) throws {
        let id = UInt32.random(in: 0...UInt32.max)
        stdoutPath = scratch.file("out-\(id)")
        stderrPath = scratch.file("err-\(id)")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged["XDG_STATE_HOME"] = scratch.file("state")
        merged["XDG_RUNTIME_DIR"] = scratch.path
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try ProcessSpawn.run(process)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    var output: String { stdout + stderr }
    var pid: Int32 { process.processIdentifier }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to exit; kills it and fails after `timeout` seconds.
    @discardableResult
    func wait(timeout: Double) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                throw TestFailure("`ranktop \(process.arguments?.joined(separator: " ") ?? "")` did not finish in \(Int(timeout)) s; output:\n\(output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return process.terminationStatus
    }

    /// Waits until the output has a line matching `pattern`; returns the first capture group
    /// (or the whole match).
    func waitForOutput(_ pattern: String, timeout: Double) async throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let text = output
            if let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) {
                let range = match.numberOfRanges > 1 ? match.range(at: 1) : match.range
                return String(text[Range(range, in: text)!])
            }
            if !process.isRunning || Date() > deadline {
                throw TestFailure("no output matching /\(pattern)/ within \(Int(timeout)) s; output:\n\(text)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// `ranktop report LOG --json`, parsed.
func report(_ log: String) async throws -> [String: Any] {
    let result = try await ProcessRunner.ranktop(["report", log, "--json"])
    guard result.status == 0, let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
        throw TestFailure("ranktop report \(log) --json failed: \(result.stdout) \(result.stderr)")
    }
    return object
}

extension [String: Any] {
    var ranks: [[String: Any]] { self["ranks"] as? [[String: Any]] ?? [] }
    func states() -> [String] { ranks.map { $0["state"] as? String ?? "?" } }
}
