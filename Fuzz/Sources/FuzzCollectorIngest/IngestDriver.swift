import RanktopProtocol
import RanktopCollector
#if canImport(Glibc)
import Glibc
#endif

/// Plays an `IngestScript` into a collector the way its socket handler would, without sockets:
/// framing per connection, request-or-rank on the first line, one commit per read, closing on
/// the stream's verdict and on the collector's disconnect requests.
struct IngestDriver {
    /// Required of TCP and unverified peers; this user's local peers need none.
    static let token = "fuzz-token-s3cret"
    /// Connections (reconnects included) per input: enough to reach every path, bounded anyway.
    static let maxConnections = 64
    /// Injections left waiting for a rank (they wait until `stop()`).
    static let maxBackgroundRequests = 8

    private let collector: Collector
    private var connections = [IngestConnection?](repeating: nil, count: IngestScript.connections)
    private var opened = 0
    private var controls: [RecordingControl] = []
    private var background: [Task<Void, Never>] = []

    init(collector: Collector) {
        self.collector = collector
    }

    /// Slots 0-5 are this user's processes on the Unix socket, 6 one whose credentials could not
    /// be read, 7 a TCP peer: each is admitted differently.
    static func peer(slot: Int) -> PeerIdentity {
        switch slot {
        case 6: PeerIdentity(.unverifiedLocal)
        case 7: PeerIdentity(.network("192.0.2.7:40007"))
        default: PeerIdentity(.local(uid: getuid(), pid: Int32(4000 + slot)))
        }
    }

    mutating func perform(_ step: IngestScript.Step) {
        switch step {
        case let .read(slot, bytes):
            guard let connection = connection(slot), connection.mode != .request else { break }
            var verdict = RankStream.Verdict.keep
            bytes.withUnsafeBufferPointer { chunk in
                connection.framer.feed(chunk) { piece in
                    guard verdict == .keep, connection.mode != .request else { return }
                    switch piece {
                    case let .line(line): verdict = handle(line, on: connection)
                    case let .oversize(count): verdict = connection.stream.rejectOversize(bytes: count)
                    }
                }
            }
            connection.stream.commit()
            settle(verdict, slot: slot)
        case let .oversize(slot, count):
            guard let connection = connection(slot), connection.mode != .request else { break }
            let verdict = connection.stream.rejectOversize(bytes: count)
            connection.stream.commit()
            settle(verdict, slot: slot)
        case let .peerClosed(slot):
            close(slot)
        case let .collectorClosed(slot):
            close(slot, reason: nil)
        }
        // A process that reconnected makes the collector drop its older connection.
        for slot in connections.indices where connections[slot]?.control.takeDisconnectRequest() == true {
            close(slot)
        }
    }

    /// The end of the input: every peer hangs up.
    mutating func endAll() {
        for slot in connections.indices { close(slot) }
    }

    /// Injections that were left waiting for a rank; `stop()` wakes them.
    func awaitBackgroundRequests() {
        let tasks = background
        blocking { for task in tasks { await task.value } }
    }

    /// What the collector sent to ranks must read back as what it meant.
    func checkControlLines() {
        for control in controls {
            for line in control.lines {
                let text = line.line
                guard text.last == "\n", ControlLine.parse(String(text.dropLast())) == line else {
                    fatalError("control line \(text.debugDescription) does not read back as \(line)")
                }
            }
        }
    }

    // MARK: -

    private mutating func connection(_ slot: Int) -> IngestConnection? {
        if let open = connections[slot] { return open }
        guard opened < IngestDriver.maxConnections else { return nil }
        opened += 1
        let control = RecordingControl()
        let peer = IngestDriver.peer(slot: slot)
        let connection = IngestConnection(stream: collector.openRankStream(peer: peer, control: control), control: control, peer: peer)
        controls.append(control)
        connections[slot] = connection
        return connection
    }

    private mutating func handle(_ line: UnsafeBufferPointer<UInt8>, on connection: IngestConnection) -> RankStream.Verdict {
        // Both run on every line, whatever the connection: they face the network first.
        let request = ConnectionRequest.parse(line)
        RedactionCheck.check(line)
        if connection.mode == .undecided, let request {
            connection.mode = .request
            serve(request, from: connection.peer)
            return .keep
        }
        let verdict = connection.stream.accept(line: line)
        if connection.mode == .undecided, connection.stream.rank != nil { connection.mode = .rank }
        return verdict
    }

    private mutating func settle(_ verdict: RankStream.Verdict, slot: Int) {
        switch verdict {
        case .keep:
            break
        case let .disconnect(reason):
            connections[slot]?.endReason = "disconnected by the collector: \(reason)"
            close(slot)
        case .refuseToken:
            // The handler stops reading and closes after the refusal delay, which is skipped here.
            connections[slot]?.mode = .request
            connections[slot]?.endReason = "disconnected by the collector: hello with a wrong token"
            close(slot)
        }
    }

    private mutating func close(_ slot: Int) {
        close(slot, reason: connections[slot]?.endReason ?? "connection closed without bye")
    }

    /// As the handler's `channelInactive`: a request connection that never became a rank's ends
    /// without a word.
    private mutating func close(_ slot: Int, reason: String?) {
        guard let connection = connections[slot] else { return }
        connections[slot] = nil
        if connection.mode == .request, connection.stream.rank == nil { return }
        connection.stream.end(reason: reason)
    }

    private mutating func serve(_ request: ConnectionRequest, from peer: PeerIdentity) {
        // A refused token is answered after a delay of 0.125 s and more; skipped, or inputs crawl.
        guard admits(peer, token: request.token) else { return }
        let collector = collector
        if case let .inject(_, _, _, run, _) = request, run != nil || collector.connectedRanks.isEmpty {
            // No rank to take it yet: it waits for one (or for `stop()`), as a client would.
            guard background.count < IngestDriver.maxBackgroundRequests else { return }
            background.append(Task { _ = await collector.reply(to: request, from: peer) })
            return
        }
        let reply = blocking { await collector.reply(to: request, from: peer) }
        guard ConnectionReply.parse(Array(reply.line.utf8)) == reply else {
            fatalError("reply \(reply.line.debugDescription) does not read back as \(reply)")
        }
    }

    /// `Collector.admits`, which is internal, restated from its documentation.
    private func admits(_ peer: PeerIdentity, token: String?) -> Bool {
        if peer.isTrustedLocal { return token == nil || collector.authorizes(token: token) }
        return collector.authorizes(token: token)
    }
}
