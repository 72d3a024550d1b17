import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking pipe the dashboard thread polls with stdin: a write wakes it, a drain reads
/// what is there. Other threads poke it; the C signal handler writes signal numbers to one.
final class WakePipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    func poke() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// The bytes written since the last drain.
    func drain() -> [UInt8] {
        var bytes: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 64)
        while true {
            let got = read(readFD, &scratch, scratch.count)
            guard got > 0 else { break }
            bytes += scratch.prefix(got)
        }
        return bytes
    }
}
