import Foundation
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Where the source's task and action tasks leave work for the dashboard thread, which owns the
/// model and the terminal. Posting wakes that thread through a pipe it polls with stdin.
/// @unchecked Sendable: `pending` is only touched under `lock`; the pipe fds are immutable.
final class EventInbox: @unchecked Sendable {
    enum Message: Sendable {
        case status(String, isError: Bool)
        case sourceEnded
        /// A stack request did not reach the rank.
        case stackFailed(rank: Int, reason: String)
        /// The owner of the process's signals got one: quit.
        case interrupted(signal: Int32)
    }

    struct Batch {
        var events: [Event] = []
        var messages: [Message] = []
        /// When the oldest event of the batch arrived (for event-to-screen latency).
        var oldestArrival: Double?
        /// The oldest timestamp among the batch's events.
        var oldestTs: Double?
    }

    private let lock = NSLock()
    private var pending = Batch()
    private var wakePending = false
    let readFD: Int32
    private let writeFD: Int32

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

    func post(_ event: Event) {
        lock.lock()
        if pending.oldestArrival == nil { pending.oldestArrival = Date().timeIntervalSince1970 }
        pending.events.append(event)
        pending.oldestTs = min(pending.oldestTs ?? event.ts, event.ts)
        let wake = !wakePending
        wakePending = true
        lock.unlock()
        if wake { poke() }
    }

    func post(_ message: Message) {
        lock.lock()
        pending.messages.append(message)
        wakePending = true
        lock.unlock()
        poke()
    }

    /// Everything posted since the last take.
    func take() -> Batch {
        var scratch = [UInt8](repeating: 0, count: 64)
        while read(readFD, &scratch, scratch.count) > 0 {}
        lock.lock()
        defer { lock.unlock() }
        let batch = pending
        pending = Batch()
        wakePending = false
        return batch
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }
}
