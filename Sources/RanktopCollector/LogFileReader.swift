#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the collector's log file by offset, for its followers (`LogTail`, `ViewerFeed`,
/// `LogModelFollower`): opened on the first read, each read a `pread` retried when a signal
/// interrupts it.
struct LogFileReader {
    let path: String
    private var fd: Int32 = -1

    init(path: String) {
        self.path = path
    }

    /// The bytes at `offset` into `destination`: how many were read (0: none there; the file is
    /// only appended to, so that is a file cut under us), or nil when it cannot be opened.
    mutating func read(at offset: Int, into destination: UnsafeMutableRawBufferPointer) -> Int? {
        if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        while true {
            let got = pread(fd, destination.baseAddress, destination.count, off_t(offset))
            if got < 0, errno == EINTR { continue }
            return max(0, got)
        }
    }

    mutating func closeFile() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }
}
