#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the collector's log from its first byte and then follows it as it grows, in chunks.
/// Finishes when the collector has stopped and every byte was read.
public actor LogTail {
    public static let chunkBytes = 256 * 1024
    private let log: CollectorLog
    private var offset = 0
    private var fd: Int32 = -1
    private var done = false

    init(log: CollectorLog) {
        self.log = log
    }

    /// The next bytes of the log (whole lines or not), waiting for new ones; nil at the end.
    public func next() async -> [UInt8]? {
        while !done {
            guard let end = await log.waitForData(beyond: offset) else { break }
            if fd < 0 { fd = open(log.path, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else { break }
            let count = min(LogTail.chunkBytes, end - offset)
            var chunk = [UInt8](repeating: 0, count: count)
            let got = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { break }
            offset += got
            if got < count { chunk.removeLast(count - got) }
            return chunk
        }
        finish()
        return nil
    }

    /// Stops following; the next call returns nil.
    public func finish() {
        done = true
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }
}
