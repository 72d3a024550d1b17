import RanktopReport
import ArgumentParser
import RanktopModel
import RanktopProtocol

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Post-mortem of an event log: the hang diagnosis first, then ranks, stragglers, triggers, phases.",
        discussion: """
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

    @OptionGroup var stall: StallFlags

    func run() async throws {
        try await reportingFailures {
            var report: RunReport
            if let segment = try SegmentSource.name(log) {
                report = try await SegmentSource.withDrainedLog(segment) { path in
                    try ReportCommand.makeReport(path: path, showProgress: false, stallPolicy: stall.policy)
                }
            } else {
                report = try ReportCommand.makeReport(path: log, showProgress: Terminal.stderrIsTTY, stallPolicy: stall.policy)
            }
            report.listEveryRank = ranks == .all
            print(json ? report.json.serialized : report.text, terminator: json ? "\n" : "")
        }
    }

    /// Folds the whole log through the run model.
    static func makeReport(path: String, showProgress: Bool, stallPolicy: StallPolicy = .standard) throws -> RunReport {
        var model = RunModel(limits: .report)
        var bar = showProgress ? ProgressBar(label: "reading \(path)") : nil
        do {
            let summary = try EventLogReader.read(path: path, progress: { done, total in
                bar?.update(done: done, total: total)
            }) { event in
                model.apply(event)
            }
            bar?.finish()
            if summary.isNotAnEventLog { throw CLIFailure(message: summary.notAnEventLogMessage(path: path)) }
            if summary.isMostlyRejected { Terminal.printError("warning: " + summary.mostlyRejectedWarning(path: path)) }
            return RunReport(model: model, read: summary, stallPolicy: stallPolicy)
        } catch let error as LogReadError {
            bar?.finish()
            throw CLIFailure(message: error.description)
        }
    }
}
