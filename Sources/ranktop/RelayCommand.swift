import ArgumentParser
import Atomics
import Dispatch
import RanktopProtocol
import RanktopCollector

struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Forward this node's shared-memory segments to a head collector (one per node).",
        discussion: """
        For runs larger than one collector should take connections from: ranks on each node \
        record into shared memory (RANKTOP_ADDR=shm://auto), one relay per node drains every \
        local segment and forwards all of its ranks over one connection to `ranktop serve` on \
        the head, and carries the head's injections and stack requests back. The head's log, \
        model and report are the same as if every rank had connected directly.

        When the relay dies, the head shows its ranks unreachable (not lost). A restarted relay \
        sends each ring again from its oldest record and the head keeps what it lacks, so \
        nothing the rings still hold is lost.

          ranktop serve --listen tcp://0.0.0.0:29600 --token "$T"        (head)
          RANKTOP_ADDR=shm://auto torchrun ... train.py                   (each node)
          ranktop relay --to tcp://head:29600 --token "$T"                (each node)

        Exit status: 0 stopped by SIGINT/SIGTERM/SIGHUP; 1 the head refused the token; 64 a \
        usage error.
        """
    )

    @Option(name: .long, help: ArgumentHelp("The head collector: tcp://host:port (or unix:/path.sock on the same machine).", valueName: "addr"))
    var to: String

    @Option(name: .long, help: ArgumentHelp("The head's token (default: $RANKTOP_TOKEN); always required.", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("Forward only this segment (repeatable; default: every segment of this host, new ones as they appear).", valueName: "name"))
    var segment: [String] = []

    @Option(name: .long, help: ArgumentHelp("This node's name as the head shows it (default: the host name).", valueName: "name"))
    var node: String?

    func validate() throws {
        for name in segment {
            if let problem = ShmSegment.problem(withName: name) { throw ValidationError("--segment \(name): \(problem)") }
        }
    }

    func run() async throws {
        try await reportingFailures {
            let head = try RunLocations.address(to, option: "--to ")
            if case .sharedMemory = head { throw CLIFailure.usage("--to \(to): a relay forwards to a collector's tcp:// address") }
            guard let token = RunLocations.token(explicit: token) else {
                throw CLIFailure.usage("a relay needs the head's token: --token or RANKTOP_TOKEN")
            }
            var options = ShmRelay.Options(
                head: head, token: token, segments: segment.isEmpty ? nil : segment, node: node ?? PeerIdentity.hostName()
            )
            options.scanInterval = 1
            let relay = ShmRelay(options: options) { Console.warn("ranktop relay: " + $0) }
            let signalStream = SignalWatch.stream()
            let stop = ManagedAtomic(false)
            let (done, finish) = AsyncStream<ShmRelay.Outcome>.makeStream()
            DetachedThread.start(name: "ranktop-relay", stackSize: 1 << 20) {
                finish.yield(relay.run(until: stop))
                finish.finish()
            }
            Console.warn("ranktop relay: forwarding \(segment.isEmpty ? "every segment in \(ShmSegment.directory)" : segment.joined(separator: ", ")) to \(head)")
            let signals = Task {
                _ = await SignalWatch.first(of: signalStream)
                stop.store(true, ordering: .relaxed)
            }
            var outcome = ShmRelay.Outcome.stopped
            for await result in done { outcome = result }
            signals.cancel()
            let stats = relay.statistics
            Console.warn("ranktop relay: forwarded \(stats.records) records of \(stats.streams) rank processes over \(stats.connections) connection\(stats.connections == 1 ? "" : "s")")
            if case let .refused(message) = outcome { throw CLIFailure(message: message, exitCode: ExitStatus.notDone) }
        }
    }
}
