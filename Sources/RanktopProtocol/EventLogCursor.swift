#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an event log forward one event at a time from any line start, and knows the byte
/// offset of the next line: what a replay seeks with (a checkpoint is a model plus the offset it
/// was taken at). `EventLogReader` pushes a whole file through a callback; a replay must stop
/// between two events and come back later, so this one is pulled.
///
/// A last line without its newline is left unread, not rejected: the log may still be being
/// written (`--follow`), and the next `next()` reads on from there.
public final class EventLogCursor {
    public let path: String
    private let fd: Int32
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<UInt8>
    /// Unread bytes are buffer[start..<end].
    private var start = 0
    private var end = 0
    /// Skipping the rest of a line over the limit, up to its newline.
    private var discarding = false
    private var decoder: EventDecoder
    /// Byte offset in the file of the first unread line.
    public private(set) var offset: Int
    /// Lines read that were not events (malformed, over the limit), since the cursor was made.
    public private(set) var rejected = 0
    /// The first few of those, with their byte offsets and why.
    public private(set) var rejectedSamples: [(offset: Int, reason: String)] = []

    public init(path: String, offset: Int = 0, world: Int? = nil) throws(LogReadError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogReadError(description: "cannot open '\(path)': \(String(cString: strerror(errno)))") }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw LogReadError(description: "'\(path)' is a directory, not an event log")
        }
        self.fd = fd
        capacity = EventLogReader.chunkBytes + EventDecoder.maxLineBytes + 1
        buffer = .allocate(capacity: capacity)
        decoder = EventDecoder(world: world)
        self.offset = offset
        seek(to: offset, world: world)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// The world size the decoder learnt from the log's hello (checkpoints keep it: a cursor
    /// placed past the hello must judge ranks as the first pass did).
    public var world: Int? { decoder.world }

    /// Moves to `offset`, which must be the start of a line (an offset this cursor reported).
    public func seek(to offset: Int, world: Int?) {
        _ = lseek(fd, off_t(offset), SEEK_SET)
        self.offset = offset
        start = 0
        end = 0
        discarding = false
        decoder = EventDecoder(world: world)
    }

    /// The file's size now.
    public var fileSize: Int {
        var info = stat()
        return fstat(fd, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Bytes read past the last whole line (a line still being written, or a cut tail).
    public var pendingBytes: Int { end - start }

    /// The next event, or nil at the end of what the file holds now.
    public func next() -> Event? {
        while true {
            let found = memchr(buffer + start, 0x0A, end - start)
            guard let found else {
                if !refill() { return nil }
                continue
            }
            let newline = UnsafeMutableRawPointer(found).assumingMemoryBound(to: UInt8.self) - buffer
            let lineOffset = offset
            let length = newline - start
            let lineStart = start
            offset += length + 1
            start = newline + 1
            if discarding {
                discarding = false
                reject(at: lineOffset, "line too long (limit \(EventDecoder.maxLineBytes) bytes)")
                continue
            }
            var count = length
            if count > 0, buffer[lineStart + count - 1] == 0x0D { count -= 1 }
            if count > EventDecoder.maxLineBytes {
                reject(at: lineOffset, "line too long: \(count) bytes (limit \(EventDecoder.maxLineBytes))")
                continue
            }
            let line = UnsafeBufferPointer(start: buffer + lineStart, count: count)
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            switch decoder.decode(line) {
            case let .success(event): return event
            case let .failure(error): reject(at: lineOffset, error.reason)
            }
        }
    }

    /// Reads more of the file after the unread bytes; false when nothing more is there now.
    private func refill() -> Bool {
        if end - start > EventDecoder.maxLineBytes {
            // A line over the limit: drop what is held of it and skip to its newline.
            offset += end - start
            start = 0
            end = 0
            discarding = true
        } else if start > 0 {
            if end > start { memmove(buffer, buffer + start, end - start) }
            end -= start
            start = 0
        }
        while true {
            let got = read(fd, buffer + end, capacity - end)
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { return false }
            end += got
            return true
        }
    }

    private func reject(at offset: Int, _ reason: String) {
        rejected += 1
        if rejectedSamples.count < LogReadSummary.sampleLimit { rejectedSamples.append((offset, reason)) }
    }
}
