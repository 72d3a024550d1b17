import ArgumentParser
import RanktopProtocol
import RanktopCollector

struct TriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Inject a trigger: stop the run cleanly at its next check.",
        discussion: """
        Asks the collector at ADDR to raise the trigger on every rank of its run (the newest run \
        with ranks connected, or --run). Each rank applies it at the start of its next \
        check_trigger, so the check fires on every rank at the same point and the run stops \
        cleanly. The injection is written to the run's log with who asked: your user name from \
        the kernel over a Unix socket, or the claimed user@host over TCP, marked as claimed.

        Prints the injection id and exits 0 once the collector has handed it to the run. When no \
        rank is connected yet, it waits up to --timeout for the first one; if none comes, the \
        collector withdraws the injection, so it can never stop a later run by surprise. \
        --cancel ID withdraws a pending injection early.

        Without ADDR it takes the run of yours that is running on this host (`ranktop ls` lists \
        them); when there are several it lists them and asks which, or, when stdin is not a \
        terminal, refuses with the list (exit 64).

        The token: --token, else RANKTOP_TOKEN, else (for a collector on this machine) the one it \
        left in your run directory.

          ranktop trigger --reason "loss plateau"
          ranktop trigger unix:/run/user/1000/ranktop/r-20261129-143005-7f3a.sock --reason "loss plateau"
          ranktop trigger tcp://10.0.0.5:29600 --token "$TOKEN"
          ranktop trigger tcp://10.0.0.5:29600 --cancel inj-3f9a0c1e
          ranktop trigger shm://r-20261129-143005-7f3a   (a segment on this host, no collector needed)

        \(ExitStatus.table)
        """
    )

    @Argument(help: ArgumentHelp("The collector: unix:/path.sock or tcp://host:port; or a segment of this host: shm://NAME (default: the run of yours running here; with several, you are asked, or told which).", valueName: "addr"))
    var address: String?

    @Option(name: .long, help: ArgumentHelp("Why: shown in the dashboard and written to the log.", valueName: "text"))
    var reason: String?

    @Option(name: .long, help: ArgumentHelp("The run to stop (default: the newest run with ranks connected).", valueName: "run"))
    var run: String?

    @Option(name: .long, help: ArgumentHelp("Withdraw the pending injection ID instead of injecting.", valueName: "id"))
    var cancel: String?

    @Option(name: .long, help: ArgumentHelp("The collector's token (default: $RANKTOP_TOKEN, else a local collector's token file).", valueName: "token"))
    var token: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds to wait for a rank to take the trigger before it is withdrawn.", valueName: "seconds"))
    var timeout: Double = 30

    func validate() throws {
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        if cancel != nil, reason != nil || run != nil { throw ValidationError("--cancel takes no --reason or --run") }
    }

    func run() async throws {
        try await reportingFailures {
            let address = try self.address ?? LocalRunPicker.pick(for: "trigger")
            if let segment = try SegmentSource.name(address) {
                // The segment's control block, through a collector of this process.
                try await SegmentSource.withLiveCollector(segment) { viewer, _ in try await trigger(at: viewer, token: nil) }
                return
            }
            let target = try RunLocations.address(address)
            try await trigger(at: target, token: RunLocations.clientToken(explicit: token, for: target))
        }
    }

    private func trigger(at target: Address, token: String?) async throws {
        if let cancel {
            try await withdraw(cancel, at: target, token: token)
            return
        }
        do {
            let (id, ranks) = try await CollectorClient.injectTrigger(
                at: target, reason: reason, token: token, by: LocalRunSource.currentUser(), timeout: timeout, run: run
            )
            Console.say(id)
            Console.warn("trigger \(id) handed to \(ranks) rank\(ranks == 1 ? "" : "s"); the run stops at its next check")
        } catch let error as TransportError where error.timedOut {
            throw CLIFailure(message: """
                no rank took the trigger within \(Int(timeout)) s (is the run started?); the collector at \(target) \
                withdrew it, so it will not stop a run that connects later
                """, exitCode: ExitStatus.notDone)
        } catch let error as TransportError {
            throw CLIFailure(message: error.description, exitCode: ExitStatus.notDone)
        }
    }

    private func withdraw(_ id: String, at target: Address, token: String?) async throws {
        do {
            let handed = try await CollectorClient.cancelInjection(at: target, id: id, token: token, timeout: 10)
            Console.say(id)
            Console.warn(handed == 0
                ? "injection \(id) withdrawn before any rank took it"
                : "injection \(id) withdrawn; \(handed) rank\(handed == 1 ? " had" : "s had") already been handed it and may still stop at its next check")
        } catch let error as TransportError {
            throw CLIFailure(message: error.description, exitCode: ExitStatus.notDone)
        }
    }
}
