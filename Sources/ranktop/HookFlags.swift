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

    func validate() throws {
        guard hookTimeout.isFinite, hookTimeout > 0, hookTimeout <= 3600 else {
            throw ValidationError("--hook-timeout must be between 0 and 3600 seconds, not \(hookTimeout)")
        }
        for (flag, command) in [("--on-stall", onStall), ("--on-failure", onFailure), ("--on-end", onEnd)] {
            if let command, command.allSatisfy(\.isWhitespace) { throw ValidationError("\(flag) needs a command") }
        }
    }

    var commands: HookCommands {
        HookCommands(onStall: onStall, onFailure: onFailure, onEnd: onEnd, timeout: hookTimeout)
    }
}
