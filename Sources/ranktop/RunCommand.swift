import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopCollector

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Wrap any launcher (torchrun, accelerate launch) and watch its ranks.",
        discussion: """
        Runs CMD with a collector in this process. Everything CMD starts inherits RANKTOP_ADDR \
        (the collector) and RANKTOP_RUN (the run id), and Python processes get the zero-code \
        hook on PYTHONPATH: Accelerate scripts report with no code change (the adapter is found \
        next to this ranktop; set RANKTOP_PYTHON_DIR otherwise).

        \(LiveRun.stopHelp)

        Exit status: 130 when you stopped the run; else CMD's.

          ranktop run -- torchrun --nproc-per-node 4 train.py
          ranktop run --headless -- accelerate launch --num_processes 2 train.py
        """
    )

    @OptionGroup var live: LiveRunOptions

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The launcher command, after --.", valueName: "cmd"))
    var command: [String] = []

    func validate() throws {
        // Everything after `run` is captured for the launcher, so ask for help here.
        if let first = command.first, first == "-h" || first == "--help" {
            throw CleanExit.helpRequest(self)
        }
        if LaunchCommand.commandLine(command).isEmpty {
            throw ValidationError("give the command to run after --, e.g. ranktop run -- torchrun --nproc-per-node 4 train.py")
        }
    }

    func run() async throws {
        let status = try await reportingFailures {
            let run = try await LiveRun.start(live, localRanks: nil)
            var environment = run.environment()
            PythonHook.install(into: &environment)
            let commandLine = LaunchCommand.commandLine(command)
            let name = FilePaths.lastComponent(of: commandLine[0])
            let spec = RankProcesses.Spec(
                label: name, arguments: commandLine, environment: environment, outputPath: run.outputPath(for: name)
            )
            return try await run.supervise([spec], expectedWorld: nil, stopOthersOnFailure: false)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
