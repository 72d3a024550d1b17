#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DequeModule
import RanktopProtocol

/// The emitter's background thread: encoding, connection, backoff, writes, heartbeats, control
/// lines.
/// Confined to that one thread; it shares only `EmitterCore` with the rank's threads.
final class EmitterWriter {
    private let core: EmitterCore
    private var socket: PosixSocket?
    private var connectedAt = 0.0
    /// Events taken from the outbox, encoded here, sent up to `sentOffset`.
    private var taken = Deque<Event>()
    private var outgoing: [UInt8] = []
    private var sentOffset = 0
    /// When the writer last found events to send; it lingers (polls) for a while after.
    private var lastBusy = 0.0
    private var framer = LineFramer()
    private var readBuffer = [UInt8](repeating: 0, count: 16 * 1024)
    private var backoff: Double
    private var nextAttempt = 0.0
    private var lastSend = MonotonicClock.now
    /// The newest lines already written to a connection (about `retainedBytes`): a collector that
    /// dies loses what it had read but not yet logged, so the next connection sends these again
    /// first. The collector keeps the first copy of each `seq`: what did reach the log is skipped,
    /// and only what is older than these can be lost (and is counted, by the gap).
    private var sentLines: [UInt8] = []
    static let retainedBytes = 256 * 1024
    /// The highest `seq` encoded into `outgoing`, and the last one reported as sent.
    private var encodedThrough = 0
    private var reportedSentThrough = 0

    init(core: EmitterCore) {
        self.core = core
        backoff = core.options.initialBackoff
        outgoing.reserveCapacity(256 * 1024)
    }

    func run() {
        while true {
            let (deadline, nothingQueued) = core.outbox.withLockedValue { ($0.stopDeadline, $0.isEmpty) }
            if let deadline {
                let flushed = nothingQueued && taken.isEmpty && sentOffset == outgoing.count
                if flushed || MonotonicClock.now >= deadline { break }
            }
            if socket == nil {
                connectOrWait(until: deadline)
            } else {
                serviceConnection(until: deadline)
            }
        }
        if socket != nil { disconnect() }
        core.wakeup.closeBothEnds()
        core.outbox.withLockedValue { $0.writerFinished = true }
        core.stopped.signal()
    }

    // MARK: connecting

    private func connectOrWait(until stopDeadline: Double?) {
        let now = MonotonicClock.now
        if now < nextAttempt {
            // Parked without asking producers for wakeups: only a stop request signals now.
            core.outbox.withLockedValue { $0.writerParked = false }
            let wakeAt = min(nextAttempt, stopDeadline ?? .infinity)
            let ready = PosixSocket.poll(core.wakeup.readFD, events: Int16(POLLIN), timeout: wakeAt - now)
            if ready != 0 { core.wakeup.drain() }
            return
        }
        do {
            let connection = try open()
            do {
                try connection.sendAll(core.helloLine, timeout: core.options.connectTimeout)
            } catch {
                connection.close()
                throw error
            }
            socket = connection
            connectedAt = MonotonicClock.now
            lastSend = connectedAt
            framer = LineFramer()
            if sentOffset > 0 { carryUnsentLines() }
            resendRetainedLines()
            core.outbox.withLockedValue {
                $0.connected = true
                $0.connections += 1
            }
        } catch {
            nextAttempt = MonotonicClock.now + backoff
            backoff = min(backoff * 2, core.options.maxBackoff)
        }
    }

    private func open() throws(PosixSocket.Failure) -> PosixSocket {
        switch core.address {
        case let .unix(path):
            return try PosixSocket.connect(unixPath: path, timeout: core.options.connectTimeout)
        case let .tcp(host, port):
            return try PosixSocket.connect(host: host, port: port, timeout: core.options.connectTimeout)
        case .sharedMemory:
            throw PosixSocket.Failure("shared memory has no connection to open")
        }
    }

    private func disconnect() {
        socket?.close()
        socket = nil
        core.outbox.withLockedValue { $0.connected = false }
        let lived = MonotonicClock.now - connectedAt
        if lived >= core.options.stableConnection { backoff = core.options.initialBackoff }
        nextAttempt = MonotonicClock.now + backoff
        backoff = min(backoff * 2, core.options.maxBackoff)
    }

    /// After a connection broke mid-batch: keep the line that was cut (and everything after it)
    /// for the next connection; the collector discarded the partial line with the old stream.
    private func carryUnsentLines() {
        var lineStart = sentOffset
        while lineStart > 0, outgoing[lineStart - 1] != 0x0A { lineStart -= 1 }
        retain(outgoing[..<lineStart])
        outgoing.removeFirst(lineStart)
        sentOffset = 0
    }

    /// Lines written whole: kept for the next connection (see `sentLines`).
    private func retain(_ lines: ArraySlice<UInt8>) {
        guard !lines.isEmpty else { return }
        sentLines.append(contentsOf: lines)
        // Trimmed at twice the size, so that the copy is paid once per `retainedBytes` sent.
        if sentLines.count > 2 * EmitterWriter.retainedBytes { trimRetainedLines() }
    }

    private func trimRetainedLines() {
        var cut = sentLines.count - EmitterWriter.retainedBytes
        guard cut > 0 else { return }
        while cut < sentLines.count, sentLines[cut - 1] != 0x0A { cut += 1 }
        sentLines.removeFirst(cut)
    }

    /// A new connection (after its hello): the retained lines go first, then what was not sent.
    private func resendRetainedLines() {
        guard !sentLines.isEmpty else { return }
        trimRetainedLines()
        sentLines.append(contentsOf: outgoing[sentOffset...])
        swap(&outgoing, &sentLines)
        sentLines.removeAll(keepingCapacity: true)
        sentOffset = 0
    }

    // MARK: a live connection

    private func serviceConnection(until stopDeadline: Double?) {
        guard let socket else { return }
        if sentOffset == outgoing.count { takeQueuedEvents() }
        if sentOffset < outgoing.count {
            guard sendPending(on: socket) else { return }
            if sentOffset == outgoing.count {
                // All sent: come straight back for more; glance at control lines so a flood
                // cannot starve them.
                readControlLines(from: socket)
                return
            }
        }

        let now = MonotonicClock.now
        let heartbeatDue = lastSend + core.options.heartbeatInterval
        if sentOffset == outgoing.count, now >= heartbeatDue {
            core.emit(.heartbeat)
            return
        }
        var timeout = heartbeatDue - now
        if sentOffset == outgoing.count, now - lastBusy < core.options.lingerDuration {
            timeout = min(timeout, EmitterWriter.untilNextTick(of: core.options.lingerInterval))
        }
        if let stopDeadline { timeout = min(timeout, stopDeadline - now) }
        var entries = [
            pollfd(fd: socket.fd, events: Int16(POLLIN) | (sentOffset < outgoing.count ? Int16(POLLOUT) : 0), revents: 0),
            pollfd(fd: core.wakeup.readFD, events: Int16(POLLIN), revents: 0),
        ]
        let millis = Int32((max(timeout, 0) * 1000).rounded(.up))
        guard poll(&entries, 2, millis) > 0 else { return }
        if entries[1].revents != 0 { core.wakeup.drain() }
        if entries[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            readControlLines(from: socket)
        }
    }

    /// Takes what producers queued and encodes the next batch of it (at most `batchBytes`, so a
    /// backlog is never encoded all at once). While events keep coming the writer only lingers
    /// (polls every few milliseconds); after a quiet `lingerDuration` it parks and the next
    /// producer wakes it.
    private func takeQueuedEvents() {
        retain(outgoing[..<sentOffset])
        outgoing.removeAll(keepingCapacity: true)
        sentOffset = 0
        var unreported = 0
        let now = MonotonicClock.now
        if taken.isEmpty {
            let park = now - lastBusy >= core.options.lingerDuration
            unreported = core.outbox.withLockedValue { $0.take(into: &taken, parkIfEmpty: park) }
        }
        guard !taken.isEmpty || unreported > 0 else { return }
        lastBusy = now
        var oversize = 0
        while outgoing.count < EmitterWriter.batchBytes, let event = taken.popFirst() {
            let mark = outgoing.count
            EventEncoder.encode(event, into: &outgoing)
            if let seq = event.seq { encodedThrough = max(encodedThrough, seq) }
            if outgoing.count - mark - 1 > EventDecoder.maxLineBytes {
                // The collector would reject it whole; better to say it was dropped.
                outgoing.removeSubrange(mark...)
                oversize += 1
            }
        }
        if oversize > 0 { core.outbox.withLockedValue { $0.countDropped(oversize) } }
        if unreported > 0 {
            core.emit(.log(
                level: .warning,
                msg: "ranktop emitter: \(unreported) events dropped (the collector was unreachable or too slow)"))
        }
    }

    private static let batchBytes = 256 * 1024

    /// Seconds to the next multiple of `interval` on the wall clock. Every rank of a host that
    /// lingers wakes at the same ticks, so their sends reach the collector together and one wake
    /// of it reads several (at random phases, 8 ranks at 20 ms were 400 collector wakes a
    /// second, each 40-50 us of CPU on a VM). The latency is the same: at most `interval`.
    static func untilNextTick(of interval: Double) -> Double {
        guard interval > 0 else { return 0 }
        let now = WallClock.now
        let next = ((now / interval).rounded(.down) + 1) * interval
        return max(0, next - now)
    }

    /// Writes as much as the socket takes now; false when the connection broke.
    private func sendPending(on socket: PosixSocket) -> Bool {
        while sentOffset < outgoing.count {
            let result = outgoing.withUnsafeBytes { socket.send(UnsafeRawBufferPointer(rebasing: $0[sentOffset...])) }
            switch result {
            case let .bytes(count):
                sentOffset += count
                lastSend = MonotonicClock.now
            case .wouldBlock:
                return true
            case .closed:
                disconnect()
                return false
            }
        }
        if encodedThrough > reportedSentThrough {
            reportedSentThrough = encodedThrough
            let through = encodedThrough
            core.outbox.withLockedValue { $0.sentThrough = through }
        }
        return true
    }

    private func readControlLines(from socket: PosixSocket) {
        while true {
            let result = readBuffer.withUnsafeMutableBytes { socket.receive(into: $0) }
            switch result {
            case let .bytes(count):
                readBuffer.withUnsafeBufferPointer { buffer in
                    framer.feed(UnsafeBufferPointer(rebasing: buffer[..<count])) { piece in
                        guard case let .line(line) = piece,
                              let control = ControlLine.parse(String(decoding: line, as: UTF8.self)) else { return }
                        core.onControl(control)
                    }
                }
            case .wouldBlock:
                return
            case .closed:
                disconnect()
                return
            }
        }
    }
}
