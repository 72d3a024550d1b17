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

        A collector that died (`kill -9`, OOM, a crash) does not take the run with it: the \
        ranks keep training and their emitters keep retrying. `ranktop ls` shows such a run as \
        "collector gone"; `ranktop serve --resume RUN` starts a collector for it again, on the \
        same addresses (and token) and appending to the same log. The ranks reconnect and send \
        what their buffers still hold; what is gone is counted as dropped, and `ranktop report` \
        says when the first collector died.

          ranktop serve --listen tcp://0.0.0.0:29600 --token "$(openssl rand -hex 16)"
          ranktop serve --listen unix:/tmp/train.sock --listen tcp://127.0.0.1:29600
          ranktop serve --resume r-20261129-143005-7f3a

        Exit status: 0 after SIGINT or SIGTERM; 1 when it cannot start (an address in use, a \
        --resume whose collector still runs); 64 a usage error.
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

    @Option(name: .long, help: ArgumentHelp(
        "Restart the collector of a run whose collector died (a run id from `ranktop ls`, or its .run file): the same addresses, token and log.",
        valueName: "run"))
    var resume: String?

    @Option(name: .long, parsing: .unconditional, help: StackAfter.help)
    var stackAfter: Double = StackAfter.defaultSeconds

    @OptionGroup(title: "Alerts and metrics")
    var hooks: HookFlags

    @OptionGroup(title: "STALLS")
    var stall: StallFlags

    func validate() throws {
        try StackAfter.validate(stackAfter)
        if resume != nil {
            if !listen.isEmpty || log != nil {
                throw ValidationError("--resume takes the run's own addresses and log; leave out --listen and --log")
            }
            return
        }
        if listen.isEmpty { throw ValidationError("give at least one --listen address, e.g. --listen tcp://127.0.0.1:29600") }
    }

    /// What the collector is for: a new run, or the one `--resume` names.
    private func target() throws -> (addresses: [Address], runID: String, logPath: String, token: String?) {
        guard let resume else {
            let addresses = try RunLocations.addresses(listen)
            let runID = RunLocations.newRunID()
            let logPath = try RunLocations.logPath(explicit: log, runID: runID, appending: true)
            return (addresses, runID, logPath, RunLocations.collectorToken(explicit: token, listen: addresses))
        }
        let file = try ResumableRun.find(resume)
        let token = RunLocations.token(explicit: token) ?? TokenFile.token(atPath: TokenFile.defaultPath(runID: file.run))
        if file.listen.contains(where: \.isTCP), token == nil {
            throw CLIFailure(message: "the token of run \(file.run) is gone (its token file was removed); give the ranks' RANKTOP_TOKEN with --token")
        }
        return (file.listen, file.run, file.log, token)
    }

    func run() async throws {
        try await reportingFailures {
            let (addresses, runID, logPath, token) = try target()
            let tokenFile = TokenFile.defaultPath(runID: runID)
            RunLocations.raiseDescriptorLimit()
            let signals = SignalWatch.stream()
            let collector: Collector
            do {
                var configuration = CollectorConfiguration(
                    listen: addresses, logPath: logPath, runID: runID, token: token, tokenFile: tokenFile,
                    stackAfter: stackAfter, warn: { Console.warn($0) }
                )
                configuration.runFile = RunFile.defaultPath(runID: runID)
                configuration.hooks = hooks.commands
                configuration.hooks.stallPolicy = stall.policy
                configuration.metrics = hooks.metrics.flatMap(HookFlags.metricsAddress)
                collector = try Collector(configuration: configuration)
                try await collector.start()
            } catch let error as TransportError {
                throw CLIFailure(message: error.description)
            }
            let bound = collector.addresses
            if resume != nil { Console.say("ranktop: resumed run \(runID): its ranks reconnect by themselves") }
            Console.say("ranktop: collector listening on \(bound.map(\.description).joined(separator: " and "))")
            Console.say("ranktop: log \(logPath)")
            if let url = collector.metricsURL { Console.say("ranktop: metrics on \(url)") }
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
