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

    @OptionGroup(title: "Dashboard")
    var dashboard: DashboardFlags
}
