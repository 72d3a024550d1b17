#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line of the log that was not accepted, and why.
public struct RejectedLine: Sendable, Equatable {
    public var line: Int
    public var reason: String
    public init(line: Int, reason: String) { (self.line, self.reason) = (line, reason) }
}

/// What reading a log found besides its events. Samples are bounded so that a log of garbage
/// cannot grow memory; the counts are exact.
public struct LogReadSummary: Sendable {
    public var lines = 0
    public var events = 0
    public var rejected = 0
    /// The first rejected lines, in order.
    public var rejectedSamples: [RejectedLine] = []
    /// Rejections by reason class (the reason up to its first colon), exact counts.
    public var rejectedByReason: [String: Int] = [:]
    /// Bytes of a last line that had no newline (the writer died mid-line), if any.
    public var truncatedTailBytes: Int?
    public static let sampleLimit = 50

    public init() {}

    /// Lines were read and not one was an event: some other file, not an event log. (An empty
    /// file is a log whose run sent nothing.)
    public var isNotAnEventLog: Bool { events == 0 && rejected > 0 }

    /// More lines rejected than accepted: worth a warning wherever the log is shown.
    public var isMostlyRejected: Bool { rejected > events }

    /// `'PATH' is not a ranktop event log: ...`, naming the first problem.
    public func notAnEventLogMessage(path: String) -> String {
        let first = rejectedSamples.first.map { " (line \($0.line): \($0.reason))" } ?? ""
        return "'\(path)' is not a ranktop event log: none of its \(rejected) line\(rejected == 1 ? " is" : "s is") a protocol-v1 event\(first)"
    }

    /// A warning for a log most of whose lines were rejected.
    public func mostlyRejectedWarning(path: String) -> String {
        let share = Int((Double(rejected) / Double(max(1, rejected + events)) * 100).rounded())
        return "\(share)% of the lines of '\(path)' are not valid events (\(rejected) rejected, \(events) read): the picture may be incomplete"
    }

    mutating func reject(line: Int, reason: String) {
        rejected += 1
        if rejectedSamples.count < LogReadSummary.sampleLimit {
            rejectedSamples.append(RejectedLine(line: line, reason: reason))
        }
        let bucket = reason.split(separator: ":", maxSplits: 1).first.map(String.init) ?? reason
        if rejectedByReason.count < 64 || rejectedByReason[bucket] != nil {
            rejectedByReason[bucket, default: 0] += 1
        }
    }
}

public struct LogReadError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Streams an event log in constant memory: fixed-size reads, lines decoded in place.
public enum EventLogReader {
    public static let chunkBytes = 1 << 20
    /// What one read of `read` asks for: small enough that the bytes the kernel copies are
    /// still in the core's own cache when the decoder reads them (a 1 MiB read was not).
    static let readBytes = 128 << 10

    /// Reads every line of the log at `path`, handing each accepted event to `body` in order.
    /// `progress` is called after each chunk with (bytes read, file size).
    @discardableResult
    public static func read(
        path: String,
        progress: ((Int, Int) -> Void)? = nil,
        _ body: (Event) throws -> Void
    ) throws -> LogReadSummary {
        let fd = try openLog(path)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw LogReadError(description: "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw LogReadError(description: "'\(path)' is a directory, not an event log")
        }
        let size = Int(info.st_size)
        var stream = EventStreamDecoder()
        var done = 0
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: readBytes)
        defer { buffer.deallocate() }
        while true {
            let got = systemRead(fd, buffer.baseAddress!, readBytes)
            if got < 0 {
                if errno == EINTR { continue }
                throw LogReadError(description: "cannot read '\(path)': \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            done += got
            try stream.feed(UnsafeBufferPointer(rebasing: buffer[0..<got]), body)
            progress?(done, size)
        }
        stream.finish()
        return stream.summary
    }

    /// Reads the lines that lie wholly inside `bytes` of the log at `path`: a line cut by the
    /// range's start is skipped, one cut by its end is left unread. For a glance at a log too large
    /// to read whole (its start and its end, say), in constant memory.
    @discardableResult
    public static func read(path: String, bytes: Range<Int>, _ body: (Event) throws -> Void) throws -> LogReadSummary {
        let fd = try openLog(path)
        defer { close(fd) }
        var stream = EventStreamDecoder()
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: readBytes)
        defer { buffer.deallocate() }
        var offset = max(bytes.lowerBound, 0)
        // Starting inside a line: the previous byte says whether this one begins a line.
        var skipping = false
        if offset > 0 {
            var previous: UInt8 = 0
            skipping = pread(fd, &previous, 1, off_t(offset - 1)) == 1 && previous != 0x0A
        }
        while offset < bytes.upperBound {
            let got = pread(fd, buffer.baseAddress!, min(readBytes, bytes.upperBound - offset), off_t(offset))
            if got < 0 {
                if errno == EINTR { continue }
                throw LogReadError(description: "cannot read '\(path)': \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            offset += got
            var chunk = UnsafeBufferPointer(rebasing: buffer[0..<got])
            if skipping {
                guard let newline = chunk.firstIndex(of: 0x0A) else { continue }
                chunk = UnsafeBufferPointer(rebasing: chunk[(newline + 1)...])
                skipping = false
            }
            try stream.feed(chunk, body)
        }
        return stream.summary
    }

    /// Decodes at most the first `maxBytes` of the log: enough to tell an event log from some
    /// other file before a dashboard opens on it.
    public static func sniff(path: String, maxBytes: Int = chunkBytes) throws -> LogReadSummary {
        let fd = try openLog(path)
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw LogReadError(description: "'\(path)' is a directory, not an event log")
        }
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: maxBytes)
        defer { buffer.deallocate() }
        var got = 0
        while got < maxBytes {
            let n = systemRead(fd, buffer.baseAddress! + got, maxBytes - got)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        var stream = EventStreamDecoder()
        stream.feed(UnsafeBufferPointer(rebasing: buffer[0..<got])) { _ in }
        // A whole file that fits is judged whole; a prefix leaves its cut last line unjudged.
        if got < maxBytes { stream.finish() }
        return stream.summary
    }
}

extension EventLogReader {
    /// The log's descriptor for reading, or the error every reader gives.
    static func openLog(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw LogReadError(description: "cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        return fd
    }
}

/// Frames and decodes a byte stream of JSON Lines, counting what it rejects with line numbers.
public struct EventStreamDecoder: Sendable {
    public private(set) var summary = LogReadSummary()
    public var decoder = EventDecoder()
    private var framer = LineFramer()

    public init() {}

    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Event) throws -> Void) rethrows {
        try framer.feed(bytes) { piece in
            summary.lines += 1
            switch piece {
            case let .line(line):
                // What `decode` would return for it, without its `Result` (never a blank line).
                if let event = decoder.decodeCanonical(line) {
                    summary.events += 1
                    try body(event)
                    decoder.recycle(consume event)
                    return
                }
                // Blank lines are harmless: neither events nor rejections.
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { return }
                switch decoder.decode(line) {
                case let .success(event):
                    summary.events += 1
                    try body(event)
                case let .failure(error):
                    summary.reject(line: summary.lines, reason: error.reason)
                }
            case let .oversize(bytes):
                summary.reject(line: summary.lines, reason: "line too long: \(bytes) bytes (limit \(EventDecoder.maxLineBytes))")
            }
        }
    }

    /// Ends the stream; a last line without its newline is reported and skipped.
    public mutating func finish() {
        if let tail = framer.finish() {
            summary.lines += 1
            summary.truncatedTailBytes = tail
            summary.reject(line: summary.lines, reason: "truncated last line: \(tail) bytes without a newline")
        }
    }
}

@inline(__always)
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, buffer, count)
    #else
    Darwin.read(fd, buffer, count)
    #endif
}
