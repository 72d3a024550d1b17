#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ranktop's own lines on stdout, written at once (a pipe would otherwise hold them back until
/// exit, and a test or a user waiting for "listening on ..." would wait for nothing).
enum Console {
    static func say(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let wrote = write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if wrote < 0, errno == EINTR { continue }
                if wrote <= 0 { return }
                offset += wrote
            }
        }
    }

    /// A warning on stderr, `ranktop: ...`.
    static func warn(_ message: String) {
        Terminal.printError(message)
    }
}
