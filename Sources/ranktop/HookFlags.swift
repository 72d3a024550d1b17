import ArgumentParser
import RanktopCollector

/// `--on-stall`, `--on-failure`, `--on-end` of serve, launch, run and demo: commands for an
/// unattended run, once per episode (docs/alerts.md).
struct HookFlags: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A shell command run once each time the run starts to stall (a rank alive but not progressing, see --stall-after). The diagnosis is in $RANKTOP_DIAGNOSIS (and $RANKTOP_RUN, $RANKTOP_LOG, $RANKTOP_RANKS) and, as JSON, on its stdin.",
        valueName: "cmd"))
    var onStall: String?

    @Option(name: .long, help: ArgumentHelp("A shell command run once for each rank process that fails or is lost; as --on-stall.", valueName: "cmd"))
    var onFailure: String?

    @Option(name: .long, help: ArgumentHelp("A shell command run once when every rank has ended; as --on-stall.", valueName: "cmd"))
    var onEnd: String?

    @Option(name: .long, help: ArgumentHelp("Seconds a hook may run before it is killed (and that is reported).", valueName: "seconds"))
    var hookTimeout: Double = HookCommands.defaultTimeout

    @Option(name: .long, help: ArgumentHelp(
        "Serve Prometheus metrics at http://HOST:PORT/metrics (HOST:PORT, or PORT for 127.0.0.1; 0 picks a free port): per rank step, condition, stalled, wait seconds, dropped events; per run stall seconds, open waits, events/s, firings.",
        valueName: "addr"))
    var metrics: String?

    /// `--metrics` as a host and a port.
    static func metricsAddress(_ text: String) -> (host: String, port: Int)? {
        var rest = Substring(text)
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        if rest.hasPrefix("tcp://") { rest = rest.dropFirst(6) }
        if rest.hasSuffix("/metrics") { rest = rest.dropLast(8) }
        let host: Substring
        let portText: Substring
        if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = ""
            portText = rest
        }
        guard let port = Int(portText), (0...65535).contains(port) else { return nil }
        let cleanHost = host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : host
        return (cleanHost.isEmpty ? "127.0.0.1" : String(cleanHost), port)
    }

    func validate() throws {
        guard hookTimeout.isFinite, hookTimeout > 0, hookTimeout <= 3600 else {
            throw ValidationError("--hook-timeout must be between 0 and 3600 seconds, not \(hookTimeout)")
        }
        if let metrics, HookFlags.metricsAddress(metrics) == nil {
            throw ValidationError("--metrics \(metrics): give HOST:PORT (e.g. 127.0.0.1:9464) or a port")
        }
        for (flag, command) in [("--on-stall", onStall), ("--on-failure", onFailure), ("--on-end", onEnd)] {
            if let command, command.allSatisfy(\.isWhitespace) { throw ValidationError("\(flag) needs a command") }
        }
    }

    var commands: HookCommands {
        HookCommands(onStall: onStall, onFailure: onFailure, onEnd: onEnd, timeout: hookTimeout)
    }
}
