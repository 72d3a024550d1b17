import RanktopReport
import ArgumentParser
import RanktopModel
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Convert an event log for other tools: a Chrome trace for Perfetto or chrome://tracing.",
        discussion: """
        --format chrome writes Chrome Trace Event JSON: one process per node and one thread per \
        rank ("rank 3"), named and sorted by metadata events, every rank that appears in the log \
        included. Complete (X) events: barrier waits, blocking collectives (collective.enter to \
        exit) and main-first phases, as the report's model opens and closes them; a span still \
        open at the end of the log (the hang) ends there and says "still_open". Instants: trigger \
        sets and firings, injections, stops, stalls (a rank alive but not progressing by the \
        dashboard's stall rule, at the onset, with how long it lasted), losses (lost, unreachable, \
        dropped events, seq gaps, the collector's discarded lines), restarts and exits. Counters: \
        the step and each progress metric (loss, lr, ...), one series per rank. Timestamps are \
        microseconds of the log's clock, in order on each rank's thread. \
        Open the file at https://ui.perfetto.dev or chrome://tracing. Lines that are not valid \
        events are skipped and counted on stderr. Exit status 2 when the log cannot be read.
        """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case chrome
    }

    @Argument(help: "The event log to read (JSON Lines).")
    var log: String

    @Option(name: .long, help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: Format = .chrome

    @Option(name: [.short, .long], help: "Write here instead of standard output.")
    var output: String?

    func run() throws {
        try reportingFailures {
            // Judged before the output is created: a wrong input must not leave a half trace.
            do {
                let sample = try EventLogReader.sniff(path: log)
                if sample.isNotAnEventLog { throw CLIFailure(message: sample.notAnEventLogMessage(path: log)) }
            } catch let error as LogReadError {
                throw CLIFailure(message: error.description)
            }
            let sink = try OutputSink(path: output)
            var trace = ChromeTrace()
            var text = TraceText()
            sink.write("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")
            let summary: LogReadSummary
            do {
                summary = try EventLogReader.read(path: log) { event in
                    trace.convert(event, into: &text)
                    if text.bytes.count >= 1 << 16 {
                        sink.write(bytes: text.bytes)
                        text.bytes.removeAll(keepingCapacity: true)
                    }
                }
            } catch let error as LogReadError {
                throw CLIFailure(message: error.description)
            }
            trace.finish(into: &text)
            sink.write(bytes: text.bytes)
            sink.write("\n]}\n")
            try sink.close()
            if summary.rejected > 0 {
                Terminal.printError("skipped \(summary.rejected) lines that are not valid events (see `ranktop report \(log)`)")
            }
        }
    }
}

/// Standard output or a file, written in large blocks.
final class OutputSink {
    private let fd: Int32
    private let path: String?
    private var buffer: [UInt8] = []

    init(path: String?) throws {
        self.path = path
        if let path {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CLIFailure(message: "cannot write '\(path)': \(String(cString: strerror(errno)))") }
        } else {
            fd = STDOUT_FILENO
        }
    }

    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try? flush() }
    }

    func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try? flush() }
    }

    func flush() throws {
        let (written, error) = buffer.withUnsafeBytes { writeAll(fd, $0) }
        buffer.removeFirst(written)
        if let error {
            throw CLIFailure(message: "cannot write \(path.map { "'\($0)'" } ?? "standard output"): \(String(cString: strerror(error)))")
        }
    }

    func close() throws {
        try flush()
        if path != nil { Glibc.close(fd) }
    }
}
