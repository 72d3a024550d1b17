import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopProtocol
import RanktopCollector

struct AttachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Open the dashboard on a running collector.",
        discussion: """
        Connects to the collector of a run (one started by 'ranktop demo', 'launch' or 'run', \
        or 'ranktop serve') and shows the run live: its history first, then events as they \
        come. Quitting the dashboard leaves the run alone; 't' stops it cleanly.

        Without ADDR, attaches to the newest run listening in the default socket directory \
        ($XDG_RUNTIME_DIR/ranktop, else /tmp/ranktop-$UID).

          ranktop attach
          ranktop attach unix:/run/user/1000/ranktop/r-20261129-143005-7f3a.sock
          ranktop attach tcp://10.0.0.5:29600 --token "$TOKEN"
          ranktop attach shm://r-20261129-143005-7f3a

        shm://NAME reads a shared-memory segment of this host (`ranktop ls`) directly, with \
        no collector: a run that records with RANKTOP_ADDR=shm://auto, hung or dead.

        Exit status: 0 after q; 128+N when signal N ended it (130 for Ctrl-C).
        """
    )

    @Argument(help: ArgumentHelp("The collector: unix:/path.sock or tcp://host:port (default: the newest local run), or a segment: shm://NAME.", valueName: "addr"))
    var address: String?

    @Option(name: .long, help: ArgumentHelp("The collector's token (default: $RANKTOP_TOKEN).", valueName: "token"))
    var token: String?

    @OptionGroup var dashboard: DashboardFlags

    func run() async throws {
        try await reportingFailures {
            if let address, let segment = try SegmentSource.name(address) {
                try await SegmentSource.withLiveCollector(segment) { viewer, _ in try await watch(try await connect(to: viewer)) }
                return
            }
            try await watch(try await connect())
        }
    }

    private func watch(_ client: CollectorClient) async throws {
        let outcome = try await DashboardSession.open(
            source: client, flags: dashboard, ownsRun: false, logPath: client.logPath, endedMessage: "collector gone"
        )
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    private func connect(to target: Address) async throws -> CollectorClient {
        let token = RunLocations.clientToken(explicit: token, for: target)
        do {
            return try await CollectorClient.connect(to: target, token: token, timeout: 5)
        } catch {
            throw CLIFailure(message: "\(error)", exitCode: 1)
        }
    }

    private func connect() async throws -> CollectorClient {
        if let address { return try await connect(to: try RunLocations.address(address)) }
        let directory = UnixSocketPath.defaultDirectory()
        for path in LocalCollectors.socketsNewestFirst(in: directory) {
            if let client = try? await CollectorClient.connect(to: .unix(path: path), token: RunLocations.token(explicit: token), timeout: 2) {
                return client
            }
        }
        // A run whose collector died is not gone: say how to bring it back.
        let orphans = RunFile.all(in: directory).filter { !$0.file.collectorAlive }.map(\.file.run)
        if let newest = orphans.first {
            throw CLIFailure(
                message: "no running collector in \(directory), but the collector of run \(newest) died" +
                    (orphans.count > 1 ? " (and \(orphans.count - 1) more: `ranktop ls`)" : "") +
                    "; its ranks may still be training: `ranktop serve --resume \(newest)` restarts it, then `ranktop attach`",
                exitCode: 1
            )
        }
        throw CLIFailure(
            message: "no running collector in \(directory); give its address: ranktop attach unix:/path.sock or tcp://host:port",
            exitCode: 1
        )
    }
}
