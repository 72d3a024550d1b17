#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RanktopProtocol

/// ranktop's own lines on stdout, written at once (a pipe would otherwise hold them back until
/// exit, and a test or a user waiting for "listening on ..." would wait for nothing).
enum Console {
    static func say(_ line: String) {
        writeAll(STDOUT_FILENO, line + "\n")
    }

    /// A warning on stderr, `ranktop: ...`.
    static func warn(_ message: String) {
        Terminal.printError(message)
    }
}
