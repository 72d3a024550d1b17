import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import NIOConcurrencyHelpers
import RanktopProtocol

/// Streams one rank's events to a collector without ever slowing the rank down.
///
/// The caller's thread only appends the event to a bounded in-memory queue under a short lock; a
/// background thread encodes, connects, writes, reconnects with exponential backoff (re-sending the
/// original `hello` first on every new connection), sends heartbeats when idle and reads control
/// lines, which it hands to `onControl`. A collector that is absent, slow or dies costs the run
/// dropped events only: they are counted, keep consuming `seq` (so the gap shows) and are reported
/// as a `log` warning once a connection has room again.
public final class Emitter: Sendable {
    /// The socket emitter's state; nil for shared memory.
    let core: EmitterCore?
    let shared: SharedMemoryEmitter?

    /// - Parameters:
    ///   - hello: sent first on every connection (written first to a shared-memory ring), with
    ///     `seq` 0 and this rank number.
    ///   - onControl: called on the emitter's thread for every control line the collector sends
    ///     (or a dashboard posts to the segment's control block); it must return quickly (queue
    ///     the inject, answer the stack request).
    public init(
        address: Address, rank: Int, hello: Hello, options: EmitterOptions = EmitterOptions(),
        onControl: @escaping @Sendable (ControlLine) -> Void = { _ in }
    ) throws(PosixSocket.Failure) {
        if case let .sharedMemory(name) = address {
            core = nil
            do {
                shared = try SharedMemoryEmitter(name: name, rank: rank, hello: hello, onControl: onControl)
            } catch {
                throw PosixSocket.Failure(error.description)
            }
            return
        }
        shared = nil
        let core = try EmitterCore(address: address, rank: rank, hello: hello, options: options, onControl: onControl)
        self.core = core
        DetachedThread.start(name: "ranktop-emitter", stackSize: 256 * 1024) { EmitterWriter(core: core).run() }
    }

    deinit {
        core?.requestStop(within: 0.2)
        shared?.close(timeout: 0)
    }

    public var rank: Int { core?.rank ?? shared?.rank ?? 0 }

    /// Where the events go: a collector's socket, or (shared memory) the segment's file.
    public var segmentPath: String? { shared?.segment.path }

    /// Queues one event stamped with this rank, the wall clock and the next `seq` (or, for
    /// shared memory, stores it in the rank's ring). Never blocks on I/O.
    @inline(__always)
    public func emit(_ body: EventBody) {
        // Optional chaining borrows the stored reference; `if let shared` copied it, a retain and
        // a release on every emit (a seventh of a shared-memory emit, by `perf`).
        if shared != nil {
            shared?.emit(body)
        } else {
            core?.emit(body)
        }
    }

    /// Sends what is queued (reconnecting if needed) for at most `timeout` seconds, then closes
    /// the connection and stops the thread. Events emitted afterwards are dropped. Shared memory
    /// has nothing queued: its segment is removed when every rank of the run said `bye`.
    public func close(timeout: Double = 1) {
        if let shared { return shared.close(timeout: timeout) }
        guard let core else { return }
        core.requestStop(within: timeout)
        guard !core.outbox.withLockedValue({ $0.writerFinished }) else { return }
        _ = core.stopped.wait(timeout: .now() + max(timeout, 0) + 0.5)
    }

    public var statistics: EmitterStatistics {
        if let shared { return shared.statistics }
        guard let core else { return EmitterStatistics(produced: 0, dropped: 0, connections: 0, connected: false) }
        return core.outbox.withLockedValue {
            EmitterStatistics(
                produced: $0.produced, dropped: $0.droppedTotal, connections: $0.connections, connected: $0.connected,
                sentThrough: $0.sentThrough
            )
        }
    }
}

/// The state the caller's threads and the writer thread share.
final class EmitterCore: Sendable {
    let rank: Int
    let address: Address
    let options: EmitterOptions
    /// The encoded `hello`, `seq` 0, re-sent verbatim on every new connection.
    let helloLine: [UInt8]
    let outbox: NIOLockedValueBox<EmitterOutbox>
    let wakeup: WakeupPipe
    let onControl: @Sendable (ControlLine) -> Void
    let stopped = DispatchSemaphore(value: 0)

    init(
        address: Address, rank: Int, hello: Hello, options: EmitterOptions,
        onControl: @escaping @Sendable (ControlLine) -> Void
    ) throws(PosixSocket.Failure) {
        self.rank = rank
        self.address = address
        self.options = options
        self.onControl = onControl
        wakeup = try WakeupPipe()
        var outbox = EmitterOutbox(capacity: options.queueEvents)
        var helloEvent = Event(rank: rank, ts: WallClock.now, .hello(hello))
        outbox.stamp(&helloEvent)
        var line: [UInt8] = []
        EventEncoder.encode(helloEvent, into: &line)
        helloLine = line
        self.outbox = NIOLockedValueBox(outbox)
    }

    @inline(__always)
    func emit(_ body: EventBody) {
        var event = Event(rank: rank, ts: WallClock.now, body)
        let wake = outbox.withLockedValue { outbox -> Bool in
            guard outbox.stopDeadline == nil else {
                outbox.stamp(&event)
                outbox.countDropped(1)
                return false
            }
            return outbox.append(&event)
        }
        if wake { wakeup.signal() }
    }

    func requestStop(within timeout: Double) {
        let deadline = MonotonicClock.now + max(timeout, 0)
        let first = outbox.withLockedValue { outbox in
            guard outbox.stopDeadline == nil else { return false }
            outbox.stopDeadline = deadline
            return true
        }
        // Only the first request may signal: the writer closes the pipe when it is done, and a
        // later write could land in whatever file reused the descriptor.
        if first { wakeup.signal() }
    }
}
