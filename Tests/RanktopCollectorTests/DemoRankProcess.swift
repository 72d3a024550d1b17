import Foundation
import RanktopProtocol
import RanktopCollector
import RanktopTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Real `ranktop demo-rank` processes (the Swift runtime) reporting to a test's collector, one
/// per rank, with the environment a launcher gives. Killed when this goes away, so a failing test
/// leaves nothing behind.
final class DemoRankProcesses {
    private var processes: [Process] = []

    /// Starts every rank of a `world`-rank run reporting to `address`, each with `arguments`.
    init(world: Int, reportingTo address: Address, arguments: [String]) throws {
        let binary = RanktopExecutable.url
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestFailure("no built 'ranktop' executable at \(binary.path): run 'swift build' first, or set RANKTOP_BIN")
        }
        let port = try FreePort.pick()
        for rank in 0..<world {
            var environment = ProcessInfo.processInfo.environment
            environment.merge([
                "RANK": "\(rank)", "WORLD_SIZE": "\(world)", "LOCAL_RANK": "\(rank)", "LOCAL_WORLD_SIZE": "\(world)",
                "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)",
                "RANKTOP_ADDR": address.description, "RANKTOP_RUN": "r-test",
            ]) { $1 }
            let process = Process()
            process.executableURL = binary
            process.arguments = ["demo-rank", "--quiet"] + arguments
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try ProcessSpawn.run(process)
            processes.append(process)
        }
    }

    deinit { killAll() }

    func killAll() {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
