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
        abstract: "Replay an event log in the dashboard: play, seek, step, and jump to what went wrong.",
        discussion: """
        The dashboard driven by the log on a replay clock, through the same run model as the \
        live view: the same log shows the same screen at the same instant, whatever the speed. \
        A first pass reads the log once at decode speed (the timeline shows how far), leaving \
        checkpoints so that a seek anywhere is quick, and marks the notable moments: a wait \
        that becomes late (and then hangs or straggles), a stall, a trigger, a failure, a loss, \
        a mismatch.

        Keys: Space (or p) plays and pauses; + and - set the speed (x0.25 to x1000, and max); \
        . and , step one event forward and back; Left and Right seek 10 s, PgUp and PgDn a \
        minute; g and G go to the start and the end; n and N jump to the next and previous \
        notable moment; ? lists every key.

        --speed 0 plays as fast as the log decodes. --follow replays a log that is still being \
        written and shows it live at its end, like tail -f. Lines that are not events are \
        counted on the timeline and after quitting, never fatal. Triggers and stack requests \
        cannot reach a replayed run. For a text post-mortem use 'ranktop report LOG' (--at TIME \
        for a moment). LOG may be shm://NAME: what a shared-memory segment on this host holds now.

        Exit status: 0 after q; 128+N when signal N ended it (130 for Ctrl-C); 2 when the log \
        cannot be read.
        """
    )

    @Argument(help: ArgumentHelp("The event log (JSON Lines), or shm://NAME.", valueName: "log"))
    var log: String

    @Option(name: .long, help: ArgumentHelp("Playback speed: 1 is real time, 10 ten times faster, 0 as fast as possible.", valueName: "x"))
    var speed: Double = 1

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Where to start. \(TimePoint.help).", valueName: "time"))
    var start: TimePoint?

    @Flag(name: .long, help: "Keep reading a log that is still being written; show it live at its end.")
    var follow = false

    @OptionGroup var dashboard: DashboardFlags

    func validate() throws {
        guard speed.isFinite, speed >= 0 else {
            throw ValidationError("--speed must be 0 or more (1 is real time, 0 as fast as possible), not \(speed)")
        }
    }

    func run() async throws {
        try await reportingFailures {
            if let segment = try SegmentSource.name(log) {
                if follow { throw CLIFailure.usage("--follow reads a log file; for a live segment use 'ranktop attach shm://\(segment)'") }
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
        let timeline: ReplayTimeline
        do {
            timeline = try ReplayTimeline(path: log, stallPolicy: dashboard.stall.policy, follow: follow)
        } catch {
            throw CLIFailure(message: error.description)
        }
        timeline.startFirstPass()
        defer { timeline.stop() }
        var playback = ReplayPlayback(speed: speed, follow: follow)
        if let start {
            // The start of the log is known at once; its end only once the first pass is done.
            var bar = Terminal.stderrIsTTY ? ProgressBar(label: "reading \(log)") : nil
            while true {
                let found = timeline.found
                bar?.update(done: found.bytesRead, total: max(found.fileSize, found.bytesRead))
                if found.done || (!start.needsEnd && found.firstTs != nil) { break }
                usleep(20_000)
            }
            bar?.finish()
            let found = timeline.found
            guard let at = start.resolve(start: found.firstTs, end: found.lastTs) else {
                throw CLIFailure(message: "--start: '\(log)' has no events to start in")
            }
            timeline.seek(to: at)
            playback = ReplayPlayback(speed: speed, follow: follow)
        }
        let outcome = try await DashboardSession.open(
            source: ReplayedLogSource(path: log), flags: dashboard, ownsRun: false, logPath: log, endedMessage: "end of log",
            startupMessage: sample.isMostlyRejected ? sample.mostlyRejectedWarning(path: log) : nil,
            replay: timeline, playback: playback
        )
        let found = timeline.found
        if let error = found.error { Terminal.printError("reading '\(log)' stopped: \(error)") }
        if found.rejected > 0 {
            let first = found.rejectedSamples.first.map { " (first: at byte \($0.offset): \($0.reason))" } ?? ""
            Terminal.printError("\(found.rejected) line\(found.rejected == 1 ? "" : "s") of '\(log)' were not valid events\(first)")
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
