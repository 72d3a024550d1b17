#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import NIOConcurrencyHelpers
import RanktopProtocol

/// Where the run source's task and the action tasks leave work for the app loop, which owns the
/// model and the screen. A batch of events is appended under one lock; posting calls `wake` (the
/// terminal backend writes to a pipe its wait polls) once per batch the loop has not yet taken.
/// @unchecked Sendable: `pending` and `wakePending` are only touched under `lock`.
public final class DashboardInbox: @unchecked Sendable {
    public enum Message: Sendable, Equatable {
        case status(String, isError: Bool)
        case sourceEnded
        /// A stack request did not reach the rank.
        case stackFailed(rank: Int, reason: String)
        /// The owner of the process's signals got one: quit.
        case interrupted(signal: Int32)
    }

    public struct Batch: Sendable {
        public var events: [Event] = []
        public var messages: [Message] = []
        /// When the oldest event of the batch arrived (wall clock, for event-to-screen latency).
        public var oldestArrival: Double?
        /// The oldest timestamp among the batch's events.
        public var oldestTs: Double?
    }

    private let lock = NIOLock()
    private var pending = Batch()
    private var wakePending = false
    private let wake: @Sendable () -> Void
    private let wallClock: @Sendable () -> Double

    public init(wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }, wake: @escaping @Sendable () -> Void = {}) {
        self.wallClock = wallClock
        self.wake = wake
    }

    public func post(_ events: [Event]) {
        guard !events.isEmpty else { return }
        let arrival = wallClock()
        var oldest = events[0].ts
        for event in events where event.ts < oldest { oldest = event.ts }
        lock.lock()
        if pending.oldestArrival == nil { pending.oldestArrival = arrival }
        if pending.events.isEmpty {
            pending.events = events
        } else {
            pending.events.append(contentsOf: events)
        }
        pending.oldestTs = min(pending.oldestTs ?? oldest, oldest)
        let wakeNow = !wakePending
        wakePending = true
        lock.unlock()
        if wakeNow { wake() }
    }

    public func post(_ message: Message) {
        lock.lock()
        pending.messages.append(message)
        wakePending = true
        lock.unlock()
        wake()
    }

    /// Everything posted since the last take.
    public func take() -> Batch {
        lock.lock()
        defer { lock.unlock() }
        let batch = pending
        pending = Batch()
        wakePending = false
        return batch
    }
}
