import RanktopTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reading a growing event log from a test, and other small helpers.
enum LiveLog {
    /// The log's lines parsed as JSON objects (a torn last line is skipped).
    static func objects(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Waits until `condition` holds for the log's objects; fails after `timeout` seconds.
    @discardableResult
    static func waitFor(_ path: String, _ what: String, timeout: Double, _ condition: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let objects = objects(path)
            if condition(objects) { return objects }
            if Date() > deadline { throw TestFailure("timed out after \(Int(timeout)) s waiting for \(what) in \(path) (\(objects.count) lines)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The highest step a rank reported.
    static func step(of rank: Int, in objects: [[String: Any]]) -> Int {
        objects.filter { $0["kind"] as? String == "progress" && $0["rank"] as? Int == rank }.compactMap { $0["step"] as? Int }.max() ?? 0
    }
}

/// The live-pipeline bench executable, built next to `ranktop`; its `flood-rank` mode is a real
/// emitter process.
enum Bench {
    static var path: String { (RanktopExecutable.path as NSString).deletingLastPathComponent + "/ranktop-live-bench" }

    /// The JSON line a flood rank prints when it ends.
    static func floodResult(_ process: LiveProcess) throws -> [String: Any] {
        guard let line = process.stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw TestFailure("the flood rank printed no result:\n\(process.output)")
        }
        return object
    }
}

/// Resident memory of a process, in bytes (Linux).
func residentBytes(_ pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
    return kilobytes * 1024
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
}
