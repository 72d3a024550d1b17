import ArgumentParser

/// The options `launch`, `run` and `demo` share.
struct LiveRunOptions: ParsableArguments {
    @Flag(name: .long, help: "No live view: print where the log is, then a one-line summary when every process has exited.")
    var headless = false

    @Option(name: .long, help: ArgumentHelp(
        "The event log (default: $XDG_STATE_HOME/ranktop/runs/<run id>.jsonl, or ~/.local/state/ranktop/runs/...).",
        valueName: "path"))
    var log: String?

    @Option(name: .long, help: ArgumentHelp(
        "Where the collector listens: unix:/path.sock or tcp://host:port (default: a private Unix socket). Repeatable; ranks get the first.",
        valueName: "addr"))
    var listen: [String] = []

    /// How ranks reach this process's collector.
    enum TransportKind: String, ExpressibleByArgument, CaseIterable {
        case unix, tcp, shm
    }

    @Option(name: .long, help: ArgumentHelp(
        "How ranks report: unix (a private socket), tcp (127.0.0.1, with a token) or shm (a shared-memory segment, /dev/shm/ranktop-<run id>, kept as a flight recorder when the run does not end cleanly). Ignored with --listen.",
        valueName: "kind"))
    var transport: TransportKind = .unix

    @Option(name: .long, parsing: .unconditional, help: StackAfter.help)
    var stackAfter: Double = StackAfter.defaultSeconds

    @OptionGroup(title: "Alerts")
    var hooks: HookFlags

    @OptionGroup(title: "Dashboard")
    var dashboard: DashboardFlags

    func validate() throws {
        try StackAfter.validate(stackAfter)
    }
}

/// `--stack-after SECONDS` of serve, launch, run and demo: automatic stack capture.
enum StackAfter {
    static let defaultSeconds = 5.0

    static let help = ArgumentHelp(
        "Once a barrier has been open this long, ask the ranks missing from it (and a few of those waiting in it) for their stacks, once each, into the log (0: never).",
        valueName: "seconds")

    static func validate(_ seconds: Double) throws {
        guard seconds >= 0, seconds.isFinite else {
            throw ValidationError("--stack-after must be 0 (off) or a positive number of seconds, not \(seconds)")
        }
    }
}
