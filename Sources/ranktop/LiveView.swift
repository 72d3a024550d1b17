#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopProtocol

/// The live view of a run that `launch`, `run` and `demo` open without `--headless`: the
/// dashboard when ranktop has a terminal, else the plain text view (a pipe, a log file, a
/// terminal ncurses cannot drive).
enum LiveView {
    /// Whether the view takes over the terminal; the ranks' output then goes to files. Not from a
    /// background process group (`timeout ranktop demo`, `ranktop demo &`): setting the terminal
    /// up or restoring it there stops the process with SIGTTOU, for good.
    static var takesOverTerminal: Bool {
        let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
        return isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0 && !term.isEmpty && term != "dumb"
            && tcgetpgrp(STDIN_FILENO) == getpgrp()
    }

    /// Shows the run from `source` until the user quits (the dashboard stays on the final state
    /// after the run ends) or, in the plain view, until the run ends. `ownsRun`: quitting stops
    /// the run (the caller stops the ranks when this returns early), so the dashboard asks first.
    /// `flags`: the command's --theme, --no-color, --ascii and --fps (RANKTOP_THEME and NO_COLOR
    /// apply too). `interrupts`: the caller owns the termination signals and yields one here to
    /// make the dashboard quit. True when the user quit the dashboard asking to stop the run.
    @discardableResult
    static func show(
        source: any RunSource, logPath: String, ownsRun: Bool, flags: DashboardFlags = .defaults,
        interrupts: AsyncStream<Int32>? = nil, hint: String? = nil
    ) async -> Bool {
        guard takesOverTerminal else {
            await PlainLiveView(source: source, logPath: logPath, ownsRun: ownsRun).run()
            return false
        }
        do {
            return try await DashboardSession.open(
                source: source, flags: flags, ownsRun: ownsRun, logPath: logPath, endedMessage: "run ended", startupHint: hint,
                interrupts: interrupts
            ) == .quitStoppingRun
        } catch {
            Console.warn("\(error); showing the run as text")
            await PlainLiveView(source: source, logPath: logPath, ownsRun: ownsRun).run()
            return false
        }
    }
}
