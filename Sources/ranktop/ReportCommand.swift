import RanktopReport
import ArgumentParser
import RanktopModel
import RanktopCollector
import RanktopProtocol

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Post-mortem of an event log: the hang diagnosis first, then ranks, stragglers, triggers, phases.",
        discussion: """
        --at TIME reports the state at one moment, in the same shapes (the JSON adds at_ts): \
        TIME is seconds since the epoch, an ISO time (UTC without a zone), +5m from the start \
        of the log, or -30s from its end.

        Reads any protocol-v1 event log (JSON Lines) in constant memory. Lines that are not valid \
        events are counted and listed with their line numbers; they never stop the report. \
        Durations are measured up to the log's last event.

        LOG may be shm://NAME, a shared-memory segment on this host (`ranktop ls`), read \
        directly with no collector: ranks whose process is gone without saying bye are lost; \
        durations run up to now.

        Exit status: 0 whenever a report was made, whatever the run did; 2 when the log cannot \
        be read.
        """
    )

    @Argument(help: "The event log to read (JSON Lines), or shm://NAME.")
    var log: String

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    /// `--ranks all`: every rank on its own row of RANKS, even past the ranks where rows that say
    /// the same are folded into one row of ranges.
    enum RankRows: String, ExpressibleByArgument {
        case all
    }

    @Option(name: .long, help: "'all': every rank on its own row in RANKS (by default, past \(RunReport.collapseRowsAbove) ranks, rows that say the same are one row of ranges).")
    var ranks: RankRows?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("The state at this moment instead of at the end of the log. \(TimePoint.help).", valueName: "time"))
    var at: TimePoint?

    @OptionGroup var stall: StallFlags

    func run() async throws {
        try await reportingFailures {
            var report: RunReport
            if let segment = try SegmentSource.name(log) {
                report = try await SegmentSource.withDrainedLog(segment) { path in
                    try ReportCommand.makeReport(path: path, showProgress: false, stallPolicy: stall.policy, at: at)
                }
            } else {
                report = try ReportCommand.makeReport(path: log, showProgress: Terminal.stderrIsTTY, stallPolicy: stall.policy, at: at)
            }
            report.listEveryRank = ranks == .all
            print(json ? report.json.serialized : report.text, terminator: json ? "\n" : "")
        }
    }

    /// Folds the whole log through the run model; with `at`, only the events up to that moment,
    /// as a replay stopped there would have (every event until the first that would move the
    /// run's clock, its newest timestamp, past it).
    static func makeReport(path: String, showProgress: Bool, stallPolicy: StallPolicy = .standard, at: TimePoint? = nil) throws -> RunReport {
        var model = RunModel(limits: .report)
        var bar = showProgress ? ProgressBar(label: "reading \(path)") : nil
        do {
            var moment: Double?
            if let at, at.needsEnd {
                // Back from the end: the end is known only once the log is read.
                var last: Double?
                try EventLogReader.read(path: path) { event in last = max(last ?? event.ts, event.ts) }
                moment = at.resolve(start: nil, end: last)
            } else if case let .absolute(ts) = at {
                moment = ts
            }
            var reached = false
            let summary = try EventLogReader.read(path: path, progress: { done, total in
                bar?.update(done: done, total: total)
            }) { event in
                guard let at else { return model.apply(event) }
                if moment == nil { moment = at.resolve(start: event.ts, end: nil) }
                if reached { return }
                if let moment, max(model.lastTs ?? event.ts, event.ts) > moment {
                    reached = true
                    return
                }
                model.apply(event)
            }
            bar?.finish()
            if summary.isNotAnEventLog { throw CLIFailure(message: summary.notAnEventLogMessage(path: path)) }
            if summary.isMostlyRejected { Terminal.printError("warning: " + summary.mostlyRejectedWarning(path: path)) }
            if at != nil, model.eventCount == 0, summary.events > 0, let moment {
                Terminal.printError("warning: \(Format.utc(moment)) is before the log's first event: nothing had happened yet")
            } else if at != nil, !reached, let moment, let last = model.lastTs, moment > last {
                Terminal.printError("warning: \(Format.utc(moment)) is after the log's last event (\(Format.utc(last))): the state at its end")
            }
            return RunReport(
                model: model, read: summary, stallPolicy: stallPolicy, at: at == nil ? nil : moment,
                collectorGone: at == nil && CollectorProcess.isGone(model.collectorSessions.last)
            )
        } catch let error as LogReadError {
            bar?.finish()
            throw CLIFailure(message: error.description)
        }
    }
}
