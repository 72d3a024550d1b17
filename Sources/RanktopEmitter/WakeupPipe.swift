#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wakes a thread parked in `poll(2)`: producers write a byte, the parked thread polls the read
/// end and drains it. Both ends are non-blocking, so a full pipe (a wakeup already pending) costs
/// nothing more.
struct WakeupPipe: Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() throws(PosixSocket.Failure) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw PosixSocket.Failure("cannot create a pipe: \(errnoText())", code: errno)
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    func drain() {
        var sink = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &sink, { read(readFD, $0.baseAddress, $0.count) }) > 0 {}
    }

    func closeBothEnds() {
        _ = close(readFD)
        _ = close(writeFD)
    }
}
