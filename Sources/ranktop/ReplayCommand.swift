import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopProtocol
import RanktopCollector
import RanktopUI

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay an event log in the dashboard.",
        discussion: """
        Plays the log back through the same run model as the live dashboard, paced as it \
        happened (--speed 10 is ten times faster, --speed 0 shows the end state at once). \
        Triggers and stack requests cannot reach a replayed run. For a text post-mortem use \
        'ranktop report LOG'. LOG may be shm://NAME: what a shared-memory segment on this \
        host holds now.

        Exit status: 0 after q; 128+N when signal N ended it (130 for Ctrl-C); 2 when the log \
        cannot be read.
        """
    )

    @Argument(help: ArgumentHelp("The event log (JSON Lines).", valueName: "log"))
    var log: String

    @Option(name: .long, help: ArgumentHelp("Playback speed: 1 is real time, 0 jumps to the end.", valueName: "x"))
    var speed: Double = 1

    @OptionGroup var dashboard: DashboardFlags

    func validate() throws {
        guard speed.isFinite, speed >= 0 else {
            throw ValidationError("--speed must be 0 or more (1 is real time), not \(speed)")
        }
    }

    func run() async throws {
        try await reportingFailures {
            if let segment = try SegmentSource.name(log) {
                try await SegmentSource.withDrainedLog(segment) { path in try await replay(path) }
            } else {
                try await replay(log)
            }
        }
    }

    private func replay(_ log: String) async throws {
        try checkReadable(log)
        let sample: LogReadSummary
        do { sample = try EventLogReader.sniff(path: log) } catch let error as LogReadError { throw CLIFailure(message: error.description) }
        if sample.isNotAnEventLog { throw CLIFailure(message: sample.notAnEventLogMessage(path: log)) }
        let source = LogReplaySource(path: log, speed: speed)
        let outcome = try await DashboardSession.open(
            source: source, flags: dashboard, ownsRun: false, logPath: log, endedMessage: "end of log",
            clock: { source.replayedNow() ?? 0 },
            startupMessage: sample.isMostlyRejected ? sample.mostlyRejectedWarning(path: log) : nil
        )
        if let error = source.readError { Terminal.printError("reading '\(log)' stopped: \(error)") }
        if let summary = source.summary, summary.rejected > 0 {
            let first = summary.rejectedSamples.first.map { " (first: line \($0.line): \($0.reason))" } ?? ""
            Terminal.printError("\(summary.rejected) line\(summary.rejected == 1 ? "" : "s") of '\(log)' were not valid events\(first)")
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    private func checkReadable(_ path: String) throws {
        guard let isDirectory = FilePaths.isDirectory(path) else {
            throw CLIFailure(message: "no such event log: '\(path)'")
        }
        guard !isDirectory else { throw CLIFailure(message: "'\(path)' is a directory, not an event log") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw CLIFailure(message: "cannot read '\(path)': permission denied") }
    }
}
