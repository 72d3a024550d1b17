import Foundation

/// Runs a program to its end and collects what it wrote: the one process runner of the tests.
public enum ProcessRunner {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// `environment` is added to this process's own. Blocks the calling thread for the child's
    /// life. Waiting on a thread of its own per call crashed the test run twice in Foundation's
    /// `Process.run` (SIGSEGV in a `memmove`, fresh-clone CI), even with spawns serialized; the
    /// collector paths that a blocked cooperative pool had delayed (stack capture, the model
    /// follower, token refusals) no longer run on that pool.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try runBlocking(executable, arguments, environment: environment)
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try ProcessSpawn.run(process)
        // Both pipes drained at once: a child filling one while we read the other would block.
        let stderrData = LockedData()
        let stderrRead = DispatchSemaphore(value: 0)
        Thread {
            stderrData.set(err.fileHandleForReading.readDataToEndOfFile())
            stderrRead.signal()
        }.start()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        stderrRead.wait()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderrData.value, as: UTF8.self))
    }

    /// `ranktop ARGS`.
    public static func ranktop(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await run(RanktopExecutable.path, arguments, environment: environment)
    }
}

private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.withLock { data = value } }
    var value: Data { lock.withLock { data ?? Data() } }
}
