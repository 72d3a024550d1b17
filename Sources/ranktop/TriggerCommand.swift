import ArgumentParser
import RanktopProtocol
import RanktopTransport

struct TriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger",
        abstract: "Inject a trigger: stop the run cleanly at its next check.",
        discussion: """
        Asks the collector at ADDR to raise the trigger on every rank of its run. Each rank \
        applies it at the start of its next check_trigger, so the check fires on every rank at \
        the same point and the run stops cleanly. The injection is written to the run's log \
        with who asked (user@host).

        Prints the injection id and exits 0 once the collector has handed it to the run (when no \
        rank is connected yet, it waits up to --timeout for the first one). Exits 1 with a message \
        when nothing listens at ADDR, the token is wrong, or no rank came in time.

          ranktop trigger unix:/run/user/1000/ranktop/r-20261129-143005-7f3a.sock --reason "loss plateau"
          ranktop trigger tcp://10.0.0.5:29600 --token "$TOKEN"
        """
    )

    @Argument(help: ArgumentHelp("The collector: unix:/path.sock or tcp://host:port.", valueName: "addr"))
    var address: String

    @Option(name: .long, help: ArgumentHelp("Why: shown in the dashboard and written to the log.", valueName: "text"))
    var reason: String?

    @Option(name: .long, help: ArgumentHelp("The collector's token (default: $RANKTOP_TOKEN).", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the collector to hand the trigger to a rank.", valueName: "seconds"))
    var timeout: Double = 30

    func run() async throws {
        try await reportingFailures {
            let target = try RunLocations.address(address)
            do {
                let (id, ranks) = try await CollectorClient.injectTrigger(
                    at: target, reason: reason, token: RunLocations.token(explicit: token),
                    by: LocalRunSource.currentUser(), timeout: max(timeout, 0.1)
                )
                Console.say(id)
                Console.warn("trigger \(id) handed to \(ranks) rank\(ranks == 1 ? "" : "s"); the run stops at its next check")
            } catch let error as TransportError where error.timedOut {
                throw CLIFailure(message: """
                    no rank took the trigger within \(Int(timeout)) s (is the run started?); the collector at \(address) \
                    keeps it and hands it to the first rank of the run that connects
                    """, exitCode: 1)
            } catch let error as TransportError {
                throw CLIFailure(message: error.description, exitCode: 1)
            }
        }
    }
}
