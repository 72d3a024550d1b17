import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopModel
import RanktopProtocol
import RanktopCollector

/// What `launch`, `run` and `demo` share: a collector in this process, the run's processes under
/// it, then either the live view or (headless) the log's path and a one-line summary at the end.
struct LiveRun {
    let runID: String
    let collector: Collector
    let logPath: String
    /// What ranks get as RANKTOP_ADDR.
    let rankAddress: Address
    let token: String?
    let headless: Bool
    /// The --theme / --no-color / --ascii / --fps of the live view.
    let dashboard: DashboardFlags
    /// A line for the dashboard's footer at the start (the demo says what it shows).
    var startupHint: String?

    /// Seconds between a rank failing and the others being stopped (as torchrun does): long
    /// enough to see, in the view and the log, where the others were waiting.
    static let failureGrace = 5.0

    /// How a user stops a run, for the --help of the commands that launch one.
    static let stopHelp = "Ctrl-C, SIGTERM or SIGHUP (or q then y in the dashboard) stops the run: the " +
        "ranks get SIGINT (SIGTERM) and are reported as stopped, not failed. A second one kills " +
        "them and exits at once."

    /// Starts the collector on `--listen` (or what `--transport` asks for) with the log at
    /// `--log` (or the run's default path). `localRanks`: how many ranks run on this machine,
    /// when known (the shared-memory segment gets an area for each; 256 otherwise).
    static func start(_ options: LiveRunOptions, localRanks: Int?) async throws -> LiveRun {
        let headless = options.headless
        let runID = RunLocations.newRunID()
        let addresses = options.listen.isEmpty
            ? LiveRun.defaultListen(options.transport, runID: runID)
            : try RunLocations.addresses(options.listen)
        let logPath = try RunLocations.logPath(explicit: options.log, runID: runID)
        let token = RunLocations.collectorToken(explicit: nil, listen: addresses)
        RunLocations.raiseDescriptorLimit()
        let quiet = !headless && LiveView.takesOverTerminal
        let collector: Collector
        do {
            var configuration = CollectorConfiguration(
                listen: addresses, logPath: logPath, runID: runID, token: token,
                tokenFile: TokenFile.defaultPath(runID: runID), keepsLiveModel: true, stackAfter: options.stackAfter,
                warn: { message in if !quiet { Console.warn(message) } }
            )
            configuration.runFile = RunFile.defaultPath(runID: runID)
            configuration.sharedMemory.rankCapacity = max(localRanks ?? 256, ShmLayout.defaultRankCapacity)
            configuration.hooks = options.hooks.commands
            configuration.hooks.stallPolicy = options.dashboard.stall.policy
            configuration.metrics = options.hooks.metrics.flatMap(HookFlags.metricsAddress)
            collector = try Collector(configuration: configuration)
            try await collector.start()
        } catch let error as TransportError {
            throw CLIFailure(message: error.description)
        }
        return LiveRun(
            runID: runID, collector: collector, logPath: logPath,
            rankAddress: LocalCollectors.addressForLocalRanks(collector.addresses[0]), token: token, headless: headless,
            dashboard: options.dashboard
        )
    }

    /// `--transport shm` also listens on a private socket: `attach`, `trigger` and `stack` find
    /// the run there as they find any other.
    static func defaultListen(_ transport: LiveRunOptions.TransportKind, runID: String) -> [Address] {
        switch transport {
        case .unix: [UnixSocketPath.defaultAddress(runID: runID)]
        case .tcp: [.tcp(host: "127.0.0.1", port: 0)]
        case .shm: [.sharedMemory(name: runID), UnixSocketPath.defaultAddress(runID: runID)]
        }
    }

    /// The environment of every process of the run: this process's, plus where to report.
    func environment() -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["RANKTOP_ADDR"] = rankAddress.description
        environment["RANKTOP_RUN"] = runID
        if let token { environment["RANKTOP_TOKEN"] = token }
        return environment
    }

    /// Where a process's output goes: the terminal, unless the view owns it; then a file next to
    /// the log (`<log>.rank-3.out`).
    func outputPath(for name: String) -> String? {
        guard !headless, LiveView.takesOverTerminal else { return nil }
        let base = logPath.hasSuffix(".jsonl") ? String(logPath.dropLast(".jsonl".count)) : logPath
        return "\(base).\(name).out"
    }

    /// Runs `specs` to the end: forwards SIGINT/SIGTERM/SIGHUP (a second one kills and exits at
    /// once), stops the others `failureGrace` seconds after one fails when `stopOthersOnFailure`,
    /// shows the run or prints its summary. Returns the exit status: `RunStop.exitStatus` (130)
    /// when the user stopped the run, else the first nonzero one of a process, else 0.
    func supervise(_ specs: [RankProcesses.Spec], expectedWorld: Int?, stopOthersOnFailure: Bool) async throws -> Int32 {
        // ranktop's one owner of SIGINT/SIGTERM/SIGHUP, from before it announces the run and starts
        // the first rank (a signal before the handler is in place would be lost, or kill ranktop
        // alone) until the view is gone too (the dashboard stays up after the run ends).
        let signals = SignalWatch.stream()
        if headless {
            Console.say("ranktop: run \(runID) log \(logPath) (ranks report to \(rankAddress))")
            if let url = collector.metricsURL { Console.say("ranktop: metrics on \(url)") }
        }
        let (exitStream, exitContinuation) = AsyncStream<RankProcesses.Exit>.makeStream()
        let processes: RankProcesses
        do {
            processes = try RankProcesses(specs) { exitContinuation.yield($0) }
        } catch {
            await collector.stop()
            throw error
        }

        // Set once the user asked to stop: the ranks are stopping because the user asked.
        let stop = RunStop(collector: collector, processes: processes, logPath: logPath, runID: runID)
        // While the dashboard owns the terminal, ranktop's own lines would scribble over it.
        let mayPrint = headless || !LiveView.takesOverTerminal
        let failurePolicy = Task {
            var stopping = false
            for await exit in exitStream where exit.status != 0 {
                if mayPrint { Console.warn(exit.description) }
                guard stopOthersOnFailure, !stopping, processes.running > 0, !stop.wasAsked else { continue }
                stopping = true
                if mayPrint { Console.warn("stopping the other ranks in \(Int(LiveRun.failureGrace)) s") }
                let failure = exit.description
                Task {
                    try? await Task.sleep(for: .seconds(LiveRun.failureGrace))
                    guard processes.running > 0, !stop.wasAsked else { return }
                    // Logged first, so that the others' deaths by SIGTERM read as stopped, not
                    // as more failures (the report then names the one rank that failed).
                    collector.recordStop(signal: "SIGTERM", by: nil, reason: failure, afterFailure: true)
                    await processes.stop(grace: 5)
                }
            }
        }
        // The dashboard quits when told here.
        let (viewInterrupts, interruptView) = AsyncStream<Int32>.makeStream()
        let forwarding = Task {
            for await number in signals {
                // Asked before (a signal, or q in the dashboard): no more waiting.
                if stop.wasAsked { stop.exitNow(after: number) }
                let signal = RunStop.forwarded(number)
                let running = processes.running
                if running > 0 {
                    guard stop.ask(signal: signal, reason: "\(signalName(number)) received") else { stop.exitNow(after: number) }
                    if mayPrint {
                        Console.warn("forwarding \(signalName(signal)) to \(running == 1 ? "1 process" : "\(running) processes") (once more kills them and exits)")
                    }
                }
                interruptView.yield(number)
            }
        }
        let view: Task<Void, Never>? = headless ? nil : Task {
            let stopAsked = await LiveView.show(
                source: LocalRunSource(collector: collector), logPath: logPath, ownsRun: true, flags: dashboard,
                interrupts: viewInterrupts, hint: startupHint
            )
            guard processes.running > 0, !stop.wasAsked else { return }
            if stopAsked {
                // q then y: the run is ours, stop it.
                if stop.ask(signal: SIGTERM, reason: "quit in the dashboard") { await processes.stop(grace: 5) }
            } else {
                // q on a run that is over: its ranks said bye and are on their way out. Not a stop
                // the user asked for; only a process that lingers is ended.
                await processes.stop(grace: 5, after: 5)
            }
        }

        let exits = await processes.waitAll()
        exitContinuation.finish()
        await failurePolicy.value
        await collector.waitUntilRanksDisconnect(timeout: 3)
        await collector.stop()
        await view?.value
        forwarding.cancel()
        interruptView.finish()

        for line in summary(expectedWorld: expectedWorld) { Console.say(line) }
        if let pattern = outputPath(for: "*") { Console.say("ranktop: the processes' output is in \(pattern)") }
        if case let .sharedMemory(name) = rankAddress, access(ShmSegment.path(name: name), F_OK) == 0 {
            // Ranks remove a segment when every one said bye; a run that ended otherwise keeps it.
            Console.say("ranktop: kept the shared-memory segment \(ShmSegment.path(name: name)): ranktop report shm://\(name), ranktop rm \(name)")
        }
        if stop.wasAsked { return RunStop.exitStatus }
        return exits.first { $0.status != 0 }?.status ?? 0
    }

    /// Details worth a line (who failed or was lost, a trigger), then the one-line summary.
    func summary(expectedWorld: Int?) -> [String] {
        let summary = RunSummary(model: collector.model(), expectedWorld: expectedWorld)
        var lines: [String] = []
        if let details = summary.details { lines.append("ranktop: run \(runID): " + details) }
        lines.append("ranktop: run \(runID) \(summary.ending), \(summary.maxStep) steps, \(summary.dropped) dropped, log \(logPath)")
        return lines
    }
}
