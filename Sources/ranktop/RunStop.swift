import NIOConcurrencyHelpers
import RanktopTerminal
import RanktopCollector
#if canImport(Glibc)
import Glibc
#endif

/// The user's word to stop a run that ranktop launched: Ctrl-C, SIGTERM or SIGHUP to ranktop, or
/// quitting its dashboard. The first time, the stop is logged (so the ranks' deaths by the signal
/// read as `stopped`, not failed) before the ranks get the signal; asked again during the
/// shutdown, ranktop kills the ranks, restores the terminal and exits at once.
final class RunStop: Sendable {
    /// The exit status of a run the user stopped, however it was asked (128 + SIGINT, as a shell
    /// reports Ctrl-C).
    static let exitStatus: Int32 = 130

    private let collector: Collector
    private let processes: RankProcesses
    private let logPath: String
    private let runID: String
    private let asked = NIOLockedValueBox(false)

    init(collector: Collector, processes: RankProcesses, logPath: String, runID: String) {
        self.collector = collector
        self.processes = processes
        self.logPath = logPath
        self.runID = runID
    }

    var wasAsked: Bool { asked.withLockedValue { $0 } }

    /// Logs the stop and sends `signal` to every rank; false (and nothing done) when the user had
    /// already asked.
    func ask(signal: Int32, reason: String) -> Bool {
        let first = asked.withLockedValue { wasAsked in
            defer { wasAsked = true }
            return !wasAsked
        }
        guard first else { return false }
        collector.recordStop(signal: signalName(signal), by: LocalRunSource.currentUser(), reason: reason)
        processes.signalAll(signal)
        return true
    }

    /// Asked twice: no more waiting for the ranks. The run's processes that left ranktop's
    /// process groups (torchrun's workers) are killed too: they would outlive ranktop, hung.
    func exitNow(after number: Int32) -> Never {
        let running = processes.running
        // Found while their launcher still lives: once it is killed, they are orphans like any other.
        let escaped = EscapedRunProcesses.find(runID: runID, outside: processes.groups)
        let killed = EscapedRunProcesses.kill(escaped)
        DashboardRunner.restoreTerminalNow()
        var what = running == 1 ? "1 process" : "\(running) processes"
        if killed > 0 {
            let pids = escaped.prefix(8).map(String.init).joined(separator: ", ") + (escaped.count > 8 ? ", ..." : "")
            what += " and \(killed) more of the run's in sessions of their own (pid \(pids))"
        }
        Console.warn("\(signalName(number)) again: killed \(what) and exiting now; log \(logPath)")
        // Last: once its own processes die, supervise's waits end and it may return 130 before
        // this thread's _exit, so whatever this says and kills has to be done by then.
        processes.signalAll(SIGKILL)
        _exit(RunStop.exitStatus)
    }

    /// What the ranks get for a signal to ranktop: SIGHUP (the terminal went away) becomes
    /// SIGTERM, which every runtime treats as "stop".
    static func forwarded(_ number: Int32) -> Int32 {
        number == SIGHUP ? SIGTERM : number
    }
}
