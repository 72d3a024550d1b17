import ArgumentParser
import Ranktop
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

/// One rank of `ranktop demo`'s simulated run. Hidden: `ranktop demo` (or `ranktop launch -n 4 --
/// ranktop demo-rank`) starts it with the launch environment (RANK, WORLD_SIZE, MASTER_ADDR, ...).
struct DemoRankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-rank",
        abstract: "One rank of the simulated training run that 'ranktop demo' starts.",
        discussion: """
        Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT like any \
        distributed program, and reports to RANKTOP_ADDR when it is set. Prints one line when it \
        ends: 'rank R: finished N steps' or 'rank R: stopped at step S (trigger check C)'.
        """,
        shouldDisplay: false
    )

    @Option(help: "Training steps to simulate.")
    var steps = 40

    @Option(help: "The rank that runs 1.4x slower (default: the last rank; -1 for none).")
    var slowRank: Int?

    @Option(help: "Seconds per training step, before jitter; every other pause scales with it.")
    var stepTime = 0.2

    @Option(help: "Steps between 'save_checkpoint' barriers (default: a quarter of the steps).")
    var checkpointEvery: Int?

    @Option(help: "Steps between evaluations, local main process first (default: half the steps).")
    var evalEvery: Int?

    @Flag(help: "Never stop early from code; only a trigger injected through ranktop stops the run.")
    var noEarlyStop = false

    @Option(help: "Seconds a barrier or trigger check may wait for the other ranks.")
    var timeout = 600.0

    @Option(help: "Seconds to keep trying to reach rank 0's rendezvous store at start.")
    var connectTimeout = 30.0

    @Option(help: "What goes wrong, on the last rank (see `ranktop demo --help`).")
    var scenario: DemoScenario?

    @Flag(help: "Print nothing when the run ends.")
    var quiet = false

    @Flag(help: "Stop (as on SIGTERM) within a second once the process that started this rank is gone: 'ranktop demo' passes it, because its ranks are not real training and must not outlive it. Ranks started by 'ranktop launch' keep going, as real training does.")
    var exitWithLauncher = false

    @Option(help: "Benchmark mode (docs/benchmarks.md): each step is this many milliseconds of fixed arithmetic, then --events-per-step events and a trigger check; segments with and without the events alternate and rank 0 prints the step times.")
    var workMs: Double?

    @Option(help: "Benchmark mode: events (progress calls) per instrumented step.")
    var eventsPerStep = 2

    @Option(help: "Benchmark mode: pairs of bare and instrumented segments.")
    var benchPairs = 10

    @Option(help: "Benchmark mode: steps per segment.")
    var benchSegment = 50

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1") }
        guard stepTime >= 0, stepTime <= 60 else { throw ValidationError("--step-time must be between 0 and 60 seconds") }
        if let checkpointEvery, checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1") }
        if let evalEvery, evalEvery < 1 { throw ValidationError("--eval-every must be at least 1") }
        guard timeout > 0, connectTimeout > 0 else { throw ValidationError("--timeout and --connect-timeout must be positive") }
        if let workMs, !(workMs > 0 && workMs <= 10_000) { throw ValidationError("--work-ms must be between 0 and 10000") }
        guard eventsPerStep >= 0, benchPairs >= 1, benchSegment >= 1 else {
            throw ValidationError("--events-per-step must be at least 0, --bench-pairs and --bench-segment at least 1")
        }
    }

    func run() throws {
        try reportingFailures {
            let state: DistributedState
            do {
                state = try DistributedState(options: .init(collectiveTimeout: timeout, connectTimeout: connectTimeout))
            } catch {
                throw CLIFailure(message: String(describing: error), exitCode: 1)
            }
            state.reportTerminationSignals()
            if exitWithLauncher { LauncherWatch.start() }
            if let workMs {
                let bench = DemoStepBenchmark(state: state, workMilliseconds: workMs, events: eventsPerStep, pairs: benchPairs, stepsPerSegment: benchSegment)
                let result: DemoStepBenchmark.Result
                do {
                    result = try state.run { _ in try bench.run() }
                } catch {
                    throw CLIFailure(message: String(describing: error), exitCode: 1)
                }
                if state.rank == 0 { print(bench.summary(result)) }
                return
            }
            // A scenario's culprit is the last rank; the default demo's one slow rank is too,
            // and a scenario other than the straggler's has none (its point is elsewhere).
            let last = state.worldSize > 1 ? state.worldSize - 1 : nil
            let plan = DemoTraining.Plan(
                steps: steps, stepTime: stepTime,
                slowRank: slowRank.map { $0 < 0 ? nil : $0 } ?? (scenario == nil ? last : nil),
                checkpointEvery: checkpointEvery ?? max(1, steps / 4), evalEvery: evalEvery ?? max(1, steps / 2),
                earlyStop: !noEarlyStop, scenario: scenario, culprit: scenario == nil ? nil : last ?? 0)
            var training = DemoTraining(state: state, plan: plan)
            let outcome: DemoTraining.Outcome
            do {
                outcome = try state.run { _ in try training.run() }
            } catch {
                throw CLIFailure(message: String(describing: error), exitCode: 1)
            }
            guard !quiet else { return }
            switch outcome {
            case let .finished(steps):
                print("rank \(state.rank): finished \(steps) steps")
            case let .stopped(step, check):
                print("rank \(state.rank): stopped at step \(step) (trigger check \(check))")
            }
        }
    }
}

/// Watches for the end of the process that started this one: re-parented (to init or a
/// subreaper), this rank stops itself through its own SIGTERM path, which says bye. Polled, not
/// `PR_SET_PDEATHSIG`: that fires when the *thread* that spawned the rank exits, which in a
/// launcher with a thread pool is not the launcher's end.
enum LauncherWatch {
    static let interval: UInt32 = 200_000

    static func start() {
        let launcher = getppid()
        DetachedThread.start(name: "ranktop-launcher-watch", stackSize: 64 * 1024) {
            while getppid() == launcher { usleep(interval) }
            kill(getpid(), SIGTERM)
        }
    }
}
