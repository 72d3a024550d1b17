import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopProtocol
import RanktopCollector

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "A headless collector for multi-node runs.",
        discussion: """
        Listens on every --listen address at once and appends every event the ranks send to the \
        event log, until SIGINT or SIGTERM. Ranks on any node report to it when started with \
        RANKTOP_ADDR set to one of its addresses; `ranktop attach ADDR` watches the run and \
        `ranktop trigger ADDR` stops it cleanly.

        Every TCP listener, loopback included, requires a token: every rank, viewer and trigger \
        must present it (RANKTOP_TOKEN for ranks). Without --token or RANKTOP_TOKEN, serve makes \
        one and leaves it in a 0600 file in your run directory, where `ranktop attach` and \
        `ranktop trigger` on this machine find it; the token is never printed. Unix-socket \
        peers need none: only your own processes (or root's) are let in.

        When a barrier stays open longer than --stack-after seconds (default 5), serve asks the \
        ranks missing from it and a few of the ranks waiting in it for their stacks, once each; the answers \
        go to the log, so a `ranktop replay` of it shows where the culprit was (S, or a rank's \
        detail) even if nobody watched. `ranktop stack` asks for them by hand.

          ranktop serve --listen tcp://0.0.0.0:29600 --token "$(openssl rand -hex 16)"
          ranktop serve --listen unix:/tmp/train.sock --listen tcp://127.0.0.1:29600
        """
    )

    @Option(name: .long, help: ArgumentHelp(
        "Where to listen: unix:/path.sock or tcp://host:port (port 0 picks a free one). Repeat for several.",
        valueName: "addr"))
    var listen: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "The event log to append to (default: a new file under $XDG_STATE_HOME/ranktop/runs or ~/.local/state/ranktop/runs).",
        valueName: "path"))
    var log: String?

    @Option(name: .long, help: ArgumentHelp("The token every connection must present (default: $RANKTOP_TOKEN).", valueName: "token"))
    var token: String?

    @Option(name: .long, parsing: .unconditional, help: StackAfter.help)
    var stackAfter: Double = StackAfter.defaultSeconds

    @OptionGroup(title: "Alerts")
    var hooks: HookFlags

    @OptionGroup(title: "STALLS")
    var stall: StallFlags

    func validate() throws {
        try StackAfter.validate(stackAfter)
        if listen.isEmpty { throw ValidationError("give at least one --listen address, e.g. --listen tcp://127.0.0.1:29600") }
    }

    func run() async throws {
        try await reportingFailures {
            let addresses = try RunLocations.addresses(listen)
            let runID = RunLocations.newRunID()
            let logPath = try RunLocations.logPath(explicit: log, runID: runID, appending: true)
            let token = RunLocations.collectorToken(explicit: token, listen: addresses)
            let tokenFile = TokenFile.defaultPath(runID: runID)
            RunLocations.raiseDescriptorLimit()
            let signals = SignalWatch.stream()
            let collector: Collector
            do {
                var configuration = CollectorConfiguration(
                    listen: addresses, logPath: logPath, runID: runID, token: token, tokenFile: tokenFile,
                    stackAfter: stackAfter, warn: { Console.warn($0) }
                )
                configuration.hooks = hooks.commands
                configuration.hooks.stallPolicy = stall.policy
                collector = try Collector(configuration: configuration)
                try await collector.start()
            } catch let error as TransportError {
                throw CLIFailure(message: error.description)
            }
            let bound = collector.addresses
            Console.say("ranktop: collector listening on \(bound.map(\.description).joined(separator: " and "))")
            Console.say("ranktop: log \(logPath)")
            if token != nil, bound.contains(where: \.isTCP) { Console.say("ranktop: token in \(tokenFile) (for ranks: RANKTOP_TOKEN)") }
            let tokenHint = token == nil ? "" : " and RANKTOP_TOKEN"
            Console.say("ranktop: start ranks with RANKTOP_ADDR=\(LocalCollectors.addressForOtherHosts(bound[0]))\(tokenHint); stop with Ctrl-C")

            _ = await SignalWatch.first(of: signals)
            await collector.stop()
            let statistics = collector.statistics
            Console.say(
                "ranktop: collector stopped: \(statistics.acceptedLines) events accepted, " +
                "\(statistics.rejectedLines) rejected, log \(logPath)"
            )
        }
    }
}
