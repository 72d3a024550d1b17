import ArgumentParser
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A failure the user can act on: printed as `ranktop: <message>` on stderr, no stack trace.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32 = 2

    var description: String { message }

    /// A command line that cannot be carried out as written: exit status 64, as ArgumentParser's
    /// own usage errors (EX_USAGE).
    static func usage(_ message: String) -> CLIFailure {
        CLIFailure(message: message, exitCode: ExitStatus.usage)
    }
}

/// ranktop's exit statuses, the same for every command (README.md, "Exit status").
enum ExitStatus {
    /// A collector refused, did not answer, or nothing listens; a trigger no rank took.
    static let notDone: Int32 = 1
    /// A command line that cannot be carried out as written.
    static let usage: Int32 = 64

    /// The table for `--help`.
    static let table = """
        Exit status: 0 done; 1 a collector refused, did not answer or no rank took the request; \
        2 an input that cannot be read or is not an event log, or a log or address that cannot be \
        used; 64 a usage error; 130 the run was stopped on your word (Ctrl-C, q then y, SIGTERM); \
        otherwise the first failing rank's exit status (launch, run, demo).
        """
}

enum Terminal {
    static func printError(_ message: String) {
        writeStderr("ranktop: \(message)\n")
    }

    /// Plain write(2): the C `stderr` global is not concurrency-safe to touch from Swift 6.
    static func writeStderr(_ text: String) {
        writeAll(STDERR_FILENO, text)
    }

    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) != 0 }
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) != 0 }
}

extension ParsableCommand {
    /// Runs `body`, turning a `CLIFailure` into its message and exit status.
    func reportingFailures<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as CLIFailure {
            Terminal.printError(failure.message)
            throw ExitCode(failure.exitCode)
        }
    }

    func reportingFailures<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as CLIFailure {
            Terminal.printError(failure.message)
            throw ExitCode(failure.exitCode)
        }
    }
}
