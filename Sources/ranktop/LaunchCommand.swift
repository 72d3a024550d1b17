import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopCollector

struct LaunchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Spawn N ranks of a command and watch them.",
        discussion: """
        Starts N copies of CMD on this machine, as torchrun --standalone would, with a collector \
        in this process. Each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, \
        MASTER_ADDR=127.0.0.1, MASTER_PORT (a free port), RANKTOP_ADDR (the collector) and \
        RANKTOP_RUN (the run id); Python ranks also get the zero-code Accelerate hook on \
        PYTHONPATH (found next to this ranktop, or set RANKTOP_PYTHON_DIR).

        \(LiveRun.stopHelp) When a rank fails, the others are stopped 5 s later.

        Exit status: 130 when you stopped the run; else the first nonzero status of a rank \
        (128+N for a rank killed by signal N); else 0.

          ranktop launch -n 4 -- python train.py --epochs 3
          ranktop launch -n 2 --headless --log run.jsonl -- ./my-swift-trainer
        """
    )

    // Unconditional parsing: `-n -3` is a value to refuse with a reason, not a missing one.
    @Option(name: .customShort("n"), parsing: .unconditional, help: ArgumentHelp("How many ranks to start.", valueName: "n"))
    var ranks: Int

    @OptionGroup var live: LiveRunOptions

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command each rank runs, after --.", valueName: "cmd"))
    var command: [String] = []

    func validate() throws {
        guard ranks >= 1 else { throw ValidationError("-n must be at least 1") }
        guard ranks <= 4096 else { throw ValidationError("-n \(ranks): ranktop launches at most 4096 ranks on one machine") }
        if LaunchCommand.commandLine(command).isEmpty {
            throw ValidationError("give the command to run after --, e.g. ranktop launch -n \(ranks) -- python train.py")
        }
    }

    /// The command after `--` (also accepted without it).
    static func commandLine(_ captured: [String]) -> [String] {
        captured.first == "--" ? Array(captured.dropFirst()) : captured
    }

    func run() async throws {
        let status = try await reportingFailures {
            let run = try await LiveRun.start(live, localRanks: ranks)
            var environment = run.environment()
            PythonHook.install(into: &environment)
            let specs = try LaunchCommand.rankSpecs(
                count: ranks, command: LaunchCommand.commandLine(command), environment: environment, run: run
            )
            return try await run.supervise(specs, expectedWorld: ranks, stopOthersOnFailure: true)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// One process per rank with torchrun's environment.
    static func rankSpecs(count: Int, command: [String], environment: [String: String], run: LiveRun) throws -> [RankProcesses.Spec] {
        let masterPort: Int
        do { masterPort = try FreePort.pick() } catch let error as TransportError { throw CLIFailure(message: error.description) }
        return (0..<count).map { rank in
            var environment = environment
            environment["RANK"] = "\(rank)"
            environment["WORLD_SIZE"] = "\(count)"
            environment["LOCAL_RANK"] = "\(rank)"
            environment["LOCAL_WORLD_SIZE"] = "\(count)"
            environment["GROUP_RANK"] = "0"
            environment["ROLE_RANK"] = "\(rank)"
            environment["ROLE_WORLD_SIZE"] = "\(count)"
            environment["MASTER_ADDR"] = "127.0.0.1"
            environment["MASTER_PORT"] = "\(masterPort)"
            return RankProcesses.Spec(
                label: "rank \(rank)", arguments: command, environment: environment,
                outputPath: run.outputPath(for: "rank-\(rank)")
            )
        }
    }
}
