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
