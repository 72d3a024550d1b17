#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends JSON Lines to the event log. Buffered: the owner calls `flush()` at least every second
/// and on exit (the collector does). Not thread-safe; one owner writes.
public final class EventLogWriter {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let flushThreshold = 256 * 1024
    public private(set) var bytesWritten = 0
    public private(set) var linesWritten = 0
    /// Bytes appended but not yet in the file (they stay here while writes fail).
    public var pendingBytes: Int { buffer.count }

    public init(path: String) throws {
        self.path = path
        // 0600: a log holds what every rank said; it is nobody else's to read.
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw LogReadError(description: "cannot write the event log '\(path)': \(String(cString: strerror(errno)))")
        }
        buffer.reserveCapacity(flushThreshold + 65_600)
    }

    deinit {
        try? flush()
        close(fd)
    }

    /// Appends one line exactly as received; a newline is added when missing.
    public func append(line: UnsafeBufferPointer<UInt8>) throws {
        buffer.append(contentsOf: line)
        if line.last != 0x0A { buffer.append(0x0A) }
        linesWritten += 1
        if buffer.count >= flushThreshold { try flush() }
    }

    public func append(_ event: Event) throws {
        EventEncoder.encode(event, into: &buffer)
        linesWritten += 1
        if buffer.count >= flushThreshold { try flush() }
    }

    /// The bytes appended but not yet in the file, which follow its `bytesWritten`.
    public func withPendingBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        buffer.withUnsafeBytes(body)
    }

    /// Writes what is buffered to the file.
    public func flush() throws {
        let (written, error) = buffer.withUnsafeBytes { writeAll(fd, $0) }
        bytesWritten += written
        // What reached the file leaves the buffer even on failure, so a retry does not write it twice.
        buffer.removeFirst(written)
        if let error {
            throw LogReadError(description: "cannot write the event log '\(path)': \(String(cString: strerror(error)))")
        }
    }
}
