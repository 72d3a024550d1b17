import RanktopTestSupport
import Foundation
import RanktopEmitter
import RanktopProtocol

/// Real `ranktop demo-rank` processes, launched as a launcher would: one per rank, with RANK,
/// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set. Processes still
/// running when it goes away are killed, so a failing test leaves nothing behind.
final class RankProcesses {
    struct Finished {
        var rank: Int
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private struct Running {
        var rank: Int
        var process: Process
        var stdout: Pipe
        var stderr: Pipe
    }

    private var running: [Running] = []

    deinit {
        killAll()
    }

    func killAll() {
        for rank in running where rank.process.isRunning { kill(rank.process.processIdentifier, SIGKILL) }
    }

    /// The built `ranktop` executable (`RanktopExecutable`: `$RANKTOP_BIN`, else beside the tests).
    static func executable() throws -> URL {
        let url = RanktopExecutable.url
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw TestFailure("no built 'ranktop' executable at \(url.path): run 'swift build' first, or set RANKTOP_BIN")
        }
        return url
    }

    /// A TCP port nothing listens on right now.
    static func freePort() throws -> Int {
        let socket = try PosixSocket.listen(host: "127.0.0.1", port: 0)
        defer { socket.close() }
        guard let port = socket.localPort else { throw TestFailure("no free port") }
        return port
    }

    /// Starts `ranks` of a run of `world` processes (all of them by default).
    static func launch(
        world: Int, ranks: [Int]? = nil, localWorld: Int? = nil, port: Int? = nil, arguments: [String],
        environment extra: [String: String] = [:]
    ) throws -> RankProcesses {
        let binary = try executable()
        let port = try port ?? freePort()
        let localWorld = localWorld ?? world
        let processes = RankProcesses()
        for rank in ranks ?? Array(0..<world) {
            var environment = ProcessInfo.processInfo.environment
            environment["RANKTOP_ADDR"] = nil
            environment["RANKTOP_RUN"] = nil
            environment.merge([
                "RANK": "\(rank)", "WORLD_SIZE": "\(world)", "LOCAL_RANK": "\(rank % localWorld)",
                "LOCAL_WORLD_SIZE": "\(localWorld)", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)",
            ]) { $1 }
            environment.merge(extra) { $1 }
            let process = Process()
            process.executableURL = binary
            process.arguments = ["demo-rank"] + arguments
            process.environment = environment
            let stdout = Pipe()
            let stderr = Pipe()
            process.standardOutput = stdout
            process.standardError = stderr
            try ProcessSpawn.run(process)
            processes.running.append(Running(rank: rank, process: process, stdout: stdout, stderr: stderr))
        }
        return processes
    }

    var pids: [Int: Int32] {
        Dictionary(uniqueKeysWithValues: running.map { ($0.rank, $0.process.processIdentifier) })
    }

    /// Waits for every process; kills all of them and fails after `timeout` seconds.
    func wait(timeout: Double = 60) async throws -> [Finished] {
        let deadline = Date().addingTimeInterval(timeout)
        while running.contains(where: { $0.process.isRunning }) {
            guard Date() < deadline else {
                killAll()
                throw TestFailure("rank processes still running after \(timeout) s: killed")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return running.map { rank in
            Finished(
                rank: rank.rank, status: rank.process.terminationStatus,
                stdout: String(decoding: rank.stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                stderr: String(decoding: rank.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }
}
