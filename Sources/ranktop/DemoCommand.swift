import ArgumentParser
import RanktopProtocol
import RanktopCollector

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a realistic simulated training run and watch it.",
        discussion: """
        Launches N real rank processes of a simulated training program on ranktop's Swift \
        runtime (this executable's hidden demo-rank command): a main-first dataset phase, \
        training steps with jitter and one slow rank, checkpoint barriers, evaluation, a trigger \
        check every step, and an early stop from code when the loss plateaus. Stop it earlier \
        with `ranktop trigger ADDR` or the dashboard's stop key.

        --scenario NAME shows one thing that goes wrong in real runs, always on the last rank, \
        in under 30 s:
        \(DemoScenario.help)
        Without --scenario: one rank 1.4x slower than the others, short waits for it at each \
        checkpoint, then the clean early stop from code.

          ranktop demo
          ranktop demo --scenario hang
          ranktop demo --ranks 8 --steps 200 --transport tcp
          ranktop demo --headless --transport shm
          ranktop demo --headless --log demo.jsonl

        \(LiveRun.stopHelp)

        Exit status: 130 when you stopped the run; else the first nonzero status of a rank; \
        else 0.
        """
    )

    // Unconditional parsing: `--ranks -3` is a value to refuse with a reason, not a missing one.
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How many ranks.", valueName: "n"))
    var ranks = 4

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Training steps per rank.", valueName: "n"))
    var steps = 40

    @Option(name: .long, help: ArgumentHelp("What goes wrong: \(DemoScenario.allCases.map(\.rawValue).joined(separator: ", ")) (see above).", valueName: "name"))
    var scenario: DemoScenario?

    @OptionGroup var live: LiveRunOptions

    func validate() throws {
        guard (1...1024).contains(ranks) else { throw ValidationError("--ranks must be between 1 and 1024") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
    }

    func run() async throws {
        let status = try await reportingFailures {
            var run = try await LiveRun.start(live, localRanks: ranks)
            run.startupHint = scenario.map { "scenario \($0.rawValue): \($0.summary)" }
                ?? "a run with one slow rank; to see what ranktop is for: ranktop demo --scenario hang"
            // Simulated ranks must not outlive the demo (a real run's ranks outlive ranktop).
            var command = [RunLocations.executablePath(), "demo-rank", "--steps", "\(steps)", "--exit-with-launcher"]
            if let scenario { command += ["--scenario", scenario.rawValue] }
            let specs = try LaunchCommand.rankSpecs(count: ranks, command: command, environment: run.environment(), run: run)
            return try await run.supervise(specs, expectedWorld: ranks, stopOthersOnFailure: true)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
