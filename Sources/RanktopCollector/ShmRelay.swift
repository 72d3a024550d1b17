import Atomics
import NIOConcurrencyHelpers
import RanktopEmitter
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ranktop relay`: one per node. Drains this node's segments and forwards every rank's records
/// to the head collector over one connection (docs/protocol.md, "Relays"), and carries the head's
/// injections and stack requests back into the segments' control blocks.
///
/// One thread, plain POSIX: read rings, send, read control lines. Each new connection sends
/// every ring again from its oldest record (and the state blocks before it); the head keeps
/// what it lacks by `seq`, so a relay that died and restarted loses nothing the rings held.
public final class ShmRelay: @unchecked Sendable {
    public struct Options: Sendable {
        public var head: Address
        public var token: String
        /// Segments to forward (nil: every segment of this host, new ones as they appear).
        public var segments: [String]?
        public var node: String
        public var scanInterval = 1.0
        public var pollInterval = 0.005
        public var heartbeatInterval = 2.0

        public init(head: Address, token: String, segments: [String]?, node: String) {
            self.head = head
            self.token = token
            self.segments = segments
            self.node = node
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var connections = 0
        public var records = 0
        public var bytes = 0
        public var segments = 0
        public var streams = 0
        public var controls = 0
    }

    public enum Outcome: Sendable, Equatable {
        case stopped
        /// The head refused the token: retrying cannot help.
        case refused(String)
    }

    let options: Options
    private let warn: @Sendable (String) -> Void
    private let stats = NIOLockedValueBox(Statistics())
    private var socket: PosixSocket?
    private var outgoing: [UInt8] = []
    private var currentStream: Int?
    private var nextStreamID = 1
    private var followers: [String: ShmSegmentFollower] = [:]
    /// Where each stream's control lines go.
    private var routes: [Int: (segment: ShmSegment, rank: Int)] = [:]
    private var framer = LineFramer()
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var lastSend = 0.0
    private var lastScan = -Double.infinity
    private var backoff = 0.1
    /// Bytes gathered before they are sent: a relay never holds more than this in memory.
    static let batchBytes = 4 << 20
    /// A pass that moved at least this many records is followed at once by the next.
    static let busyPass = 4096

    public init(options: Options, warn: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.warn = warn
    }

    public var statistics: Statistics { stats.withLockedValue { $0 } }

    /// Runs until `stop` is set (or the head refuses the token).
    public func run(until stop: ManagedAtomic<Bool>) -> Outcome {
        var warnedUnreachable = false
        while !stop.load(ordering: .relaxed) {
            if socket == nil {
                do {
                    try connect()
                    warnedUnreachable = false
                    backoff = 0.1
                } catch let failure as RelayRefused {
                    return .refused(failure.message)
                } catch {
                    if !warnedUnreachable { warn("cannot reach the head collector at \(options.head): \(error); retrying") }
                    warnedUnreachable = true
                    usleep(useconds_t(backoff * 1_000_000))
                    backoff = min(backoff * 2, 2)
                    continue
                }
            }
            step()
        }
        flushBeforeStop()
        socket?.close()
        socket = nil
        return .stopped
    }

    // MARK: one pass

    private func step() {
        let now = MonotonicClock.now
        if now - lastScan >= options.scanInterval {
            lastScan = now
            scanSegments()
        }
        var moved = 0
        for name in followers.keys.sorted() where outgoing.count < ShmRelay.batchBytes {
            moved += followers[name]!.poll()
        }
        if outgoing.isEmpty, now - lastSend >= options.heartbeatInterval {
            outgoing.append(contentsOf: RelayLine.heartbeat.line.utf8)
        }
        if !outgoing.isEmpty, !send() { return }
        readControlLines()
        // Drained: wait a little before the next pass (and wake for control lines). A pass
        // over hundreds of areas that each gave a record or two is not worth repeating at once:
        // 64 relays doing that saturated two cores (docs/benchmarks.md, "16,384 ranks").
        if moved < ShmRelay.busyPass, let socket {
            PosixSocket.poll(socket.fd, events: Int16(POLLIN), timeout: options.pollInterval)
        }
    }

    private func scanSegments() {
        let names = options.segments ?? ShmSegment.names()
        for name in names where followers[name] == nil {
            guard let segment = try? ShmSegment.open(name: name, writable: true) else { continue }
            followers[name] = ShmSegmentFollower(segment: segment, recordsPerPass: 256) { [unowned self] area in
                makeSink(segment: segment, area: area)
            }
        }
        // A segment whose run ended and was removed, read to its end, is done with.
        for (name, follower) in followers where follower.everyFeedEnded && access(follower.segment.path, F_OK) != 0 {
            followers[name] = nil
        }
        let count = followers.count
        stats.withLockedValue { $0.segments = count }
    }

    private func makeSink(segment: ShmSegment, area: ShmRankArea) -> any ShmRankSink {
        let id = nextStreamID
        nextStreamID += 1
        routes[id] = (segment, area.rank)
        stats.withLockedValue { $0.streams += 1 }
        return RelaySink(relay: self, id: id)
    }

    fileprivate func forward(_ record: UnsafeRawBufferPointer, stream id: Int) {
        if currentStream != id {
            outgoing.append(contentsOf: RelayLine.stream(id: id).line.utf8)
            currentStream = id
        }
        outgoing.append(contentsOf: record)
        outgoing.append(0x0A)
        stats.withLockedValue {
            $0.records += 1
            $0.bytes += record.count + 1
        }
    }

    fileprivate func end(stream id: Int, lost: String?) {
        outgoing.append(contentsOf: RelayLine.end(id: id, lost: lost).line.utf8)
        routes[id] = nil
    }

    // MARK: the connection

    private struct RelayRefused: Error { var message: String }

    private func connect() throws {
        let connection: PosixSocket
        switch options.head {
        case let .tcp(host, port): connection = try PosixSocket.connect(host: host, port: port, timeout: 5)
        case let .unix(path): connection = try PosixSocket.connect(unixPath: path, timeout: 5)
        case .sharedMemory: throw RelayRefused(message: "a relay forwards to a collector's tcp:// (or unix:) address, not to shared memory")
        }
        do {
            try connection.sendAll(Array(RelayLine.hello(node: options.node, token: options.token).line.utf8), timeout: 5)
            let reply = try readReply(connection)
            guard reply.kind == "relay.ok" else {
                throw RelayRefused(message: "the head collector at \(options.head) refused the relay: \(reply.error ?? reply.kind)")
            }
        } catch {
            connection.close()
            throw error
        }
        socket = connection
        framer = LineFramer()
        outgoing.removeAll(keepingCapacity: true)
        currentStream = nil
        routes.removeAll()
        // Everything the rings hold, again: the head skips what it has.
        for follower in followers.values { follower.restart() }
        lastSend = MonotonicClock.now
        stats.withLockedValue { $0.connections += 1 }
    }

    private func readReply(_ connection: PosixSocket) throws -> ConnectionReply {
        let deadline = MonotonicClock.now + 5
        var bytes: [UInt8] = []
        while MonotonicClock.now < deadline {
            PosixSocket.poll(connection.fd, events: Int16(POLLIN), timeout: deadline - MonotonicClock.now)
            var chunk = [UInt8](repeating: 0, count: 4096)
            switch chunk.withUnsafeMutableBytes({ connection.receive(into: $0) }) {
            case let .bytes(count):
                bytes += chunk[..<count]
                if let newline = bytes.firstIndex(of: 0x0A) {
                    guard let reply = ConnectionReply.parse(Array(bytes[..<newline])) else {
                        throw RelayRefused(message: "\(options.head) is not a ranktop collector")
                    }
                    // Control lines may follow the reply in the same read.
                    let rest = Array(bytes[(newline + 1)...])
                    if !rest.isEmpty { rest.withUnsafeBufferPointer { feedControl($0) } }
                    return reply
                }
            case .wouldBlock:
                continue
            case .closed:
                throw RelayRefused(message: "the head collector at \(options.head) closed the connection without an answer (a wrong --token?)")
            }
        }
        throw TransportError("no answer from the head collector at \(options.head) within 5 s", timedOut: true)
    }

    /// False when the connection broke: the next pass reconnects.
    private func send() -> Bool {
        guard let socket else { return false }
        var offset = 0
        while offset < outgoing.count {
            let result = outgoing.withUnsafeBytes { socket.send(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch result {
            case let .bytes(count):
                offset += count
            case .wouldBlock:
                // The head is slow: wait here; the rings hold what waits.
                PosixSocket.poll(socket.fd, events: Int16(POLLOUT), timeout: 1)
            case .closed:
                disconnect("the head collector closed the connection")
                return false
            }
        }
        outgoing.removeAll(keepingCapacity: outgoing.capacity <= 2 * ShmRelay.batchBytes)
        lastSend = MonotonicClock.now
        return true
    }

    private func disconnect(_ why: String) {
        warn("\(why); reconnecting (the rings hold what was not forwarded)")
        socket?.close()
        socket = nil
        outgoing.removeAll(keepingCapacity: true)
    }

    private func readControlLines() {
        guard let socket else { return }
        while true {
            let result = readBuffer.withUnsafeMutableBytes { socket.receive(into: $0) }
            switch result {
            case let .bytes(count):
                readBuffer.withUnsafeBufferPointer { feedControl(UnsafeBufferPointer(rebasing: $0[..<count])) }
            case .wouldBlock:
                return
            case .closed:
                disconnect("the head collector closed the connection")
                return
            }
        }
    }

    private func feedControl(_ bytes: UnsafeBufferPointer<UInt8>) {
        framer.feed(bytes) { piece in
            guard case let .line(line) = piece,
                  let (id, control) = RelayLine.parseControl(String(decoding: line, as: UTF8.self)),
                  let route = routes[id] else { return }
            if route.segment.control.post(control.line, target: route.rank) {
                stats.withLockedValue { $0.controls += 1 }
            }
        }
    }

    /// Stopping: forward what the rings hold now, once.
    private func flushBeforeStop() {
        guard socket != nil else { return }
        for follower in followers.values { _ = follower.poll() }
        if !outgoing.isEmpty { _ = send() }
    }
}

/// A rank area's records into the relay's connection, as stream `id`.
private final class RelaySink: ShmRankSink {
    unowned let relay: ShmRelay
    let id: Int

    init(relay: ShmRelay, id: Int) {
        self.relay = relay
        self.id = id
    }

    func accept(_ record: UnsafeRawBufferPointer) { relay.forward(record, stream: id) }
    func commit() {}
    func end(lostReason: String?) { relay.end(stream: id, lost: lostReason) }
}
