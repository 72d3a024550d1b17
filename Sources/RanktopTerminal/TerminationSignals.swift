import CNcursesShim
import FoundationEssentials
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGHUP as a stream, for a process that must act on them (a launcher stops
/// its ranks). A C handler writes each signal to a pipe and a thread reads it, so a signal is
/// seen whichever thread the kernel delivers it to (Dispatch signal sources on Linux only see
/// signals blocked in every thread, which a Swift process cannot promise). One stream at a time:
/// it is the process's one owner of these signals; the handlers before it come back when it ends.
public enum TerminationSignals {
    public static func stream() -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            continuation.finish()
            return stream
        }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // A full pipe must not block the handler; losing a repeat of a signal then costs nothing.
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        let (readFD, writeFD) = (fds[0], fds[1])
        rt_route_termination_signals(writeFD)
        DetachedThread.start(name: "ranktop-signals", stackSize: 64 * 1024) {
            var byte: UInt8 = 0
            while true {
                let n = read(readFD, &byte, 1)
                if n == 1 {
                    continuation.yield(Int32(byte))
                } else if n < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(readFD)
            continuation.finish()
        }
        continuation.onTermination = { _ in
            rt_unroute_termination_signals()
            // The reader sees end of file and closes its end.
            close(writeFD)
        }
        return stream
    }
}
