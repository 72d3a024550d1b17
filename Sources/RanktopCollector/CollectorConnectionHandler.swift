import NIOCore
import RanktopProtocol

/// One accepted socket connection. Its first line says what it is: a rank's `hello` (then its
/// events, validated by a `RankStream`), a relay's (then a node's ranks, one `RankStream` each,
/// in a `RelayDemux`), a viewer, or a one-shot control request.
///
/// Lines are framed in place from each read (at most 64 KiB), decoded and committed to the log
/// before the next read, so a connection holds no more than one read and one partial line: a
/// rank that sends faster than the collector ingests fills its own socket buffer, and its
/// emitter drops and counts, never the collector's memory.
final class CollectorConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Mode {
        case undecided, rank, relay, request
    }

    private let collector: Collector
    private let silenceTimeout: TimeAmount
    private let onViewer: () -> Void
    private var framer = LineFramer()
    private var stream: RankStream?
    private var relay: RelayDemux?
    private var mode = Mode.undecided
    private var lastHeard = NIODeadline.now()
    private var silenceCheck: Scheduled<Void>?
    /// Cancelled when the connection closes: the task holds the handler and its context, and a
    /// connection that came and went would otherwise be kept for the whole grace time (10,000
    /// reconnects in 8 s held about 150 MB, scripts/bench/churn.py).
    private var identifyDeadline: Scheduled<Void>?
    /// Why the connection is ending, when the collector ends it (else: the rank closed it).
    private var endReason: String?
    private var requestTask: Task<Void, Never>?
    private var peer = PeerIdentity(.unverifiedLocal)
    /// Counted among the collector's unidentified connections until it says who it is.
    private var countedUnidentified = false

    init(collector: Collector, silenceTimeout: TimeAmount, onViewer: @escaping () -> Void) {
        self.collector = collector
        self.silenceTimeout = silenceTimeout
        self.onViewer = onViewer
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = PeerCredentials.identify(context.channel)
        context.fireChannelActive()
        if case let .local(uid, _) = peer.origin, !peer.isTrustedLocal {
            // The socket is 0600, so only root could have let another user in: still refuse.
            collector.warnOnce(key: "uid-\(uid)", "refused a connection from \(peer): only this user's processes may use the socket")
            context.close(promise: nil)
            return
        }
        guard collector.admitUnidentifiedConnection() else {
            collector.warnOnce(key: "unidentified", "more than \(ClientGuards.maxUnidentified) connections have not said who they are; refusing new ones until they do")
            context.close(promise: nil)
            return
        }
        countedUnidentified = true
        stream = collector.openRankStream(peer: peer, control: SocketRankControl(channel: context.channel))
        scheduleIdentifyDeadline(context: context)
        scheduleSilenceCheck(context: context)
    }

    /// LoginGraceTime: a connection that neither says hello nor makes a request is closed.
    private func scheduleIdentifyDeadline(context: ChannelHandlerContext) {
        let seconds = collector.configuration.identifyTimeout
        identifyDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { [self] in
            if mode == .undecided {
                endReason = "disconnected by the collector: no hello within \(seconds) s"
                context.close(promise: nil)
            }
        }
    }

    private func settleUnidentified() {
        guard countedUnidentified else { return }
        countedUnidentified = false
        collector.unidentifiedConnectionSettled()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard mode != .request, let stream else { return }
        lastHeard = .now()
        let buffer = unwrapInboundIn(data)
        var verdict = RankStream.Verdict.keep
        buffer.withUnsafeReadableBytes { raw in
            raw.withMemoryRebound(to: UInt8.self) { bytes in
                framer.feed(bytes) { piece in
                    guard verdict == .keep, mode != .request else { return }
                    switch piece {
                    case let .line(line):
                        verdict = handle(line, stream: stream, context: context)
                    case let .oversize(count):
                        verdict = stream.rejectOversize(bytes: count)
                    }
                }
            }
        }
        stream.commit()
        relay?.commit()
        switch verdict {
        case .keep:
            break
        case let .disconnect(reason):
            endReason = "disconnected by the collector: \(reason)"
            context.close(promise: nil)
        case .refuseToken:
            refuseToken(context: context)
        }
    }

    /// Stops reading, then closes once the collector's refusal delay has passed.
    private func refuseToken(context: ChannelHandlerContext) {
        mode = .request
        silenceCheck?.cancel()
        endReason = "disconnected by the collector: hello with a wrong token"
        // The delay on the connection's event loop, not in a task: a process whose cooperative
        // pool is busy (a loaded test run) held a refused rank's connection open for over 20 s.
        let delay = collector.noteTokenRefusal(from: peer, presented: true)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .milliseconds(Int64(delay * 1000))) { channel.close(promise: nil) }
    }

    private func handle(_ line: UnsafeBufferPointer<UInt8>, stream: RankStream, context: ChannelHandlerContext) -> RankStream.Verdict {
        if mode == .relay, let relay { return relay.accept(line) }
        if mode == .undecided, case let .hello(node, token)? = RelayLine.parse(line) {
            return startRelay(node: node, token: token, context: context)
        }
        if mode == .undecided, let request = ConnectionRequest.parse(line) {
            mode = .request
            serve(request, context: context)
            return .keep
        }
        let verdict = stream.accept(line: line)
        if mode == .undecided, stream.rank != nil {
            mode = .rank
            settleUnidentified()
        }
        return verdict
    }

    /// A relay said hello: with the right token (always required: a relay speaks for ranks
    /// that cannot prove who they are) its ranks are taken as if they had connected.
    private func startRelay(node: String, token: String?, context: ChannelHandlerContext) -> RankStream.Verdict {
        guard collector.configuration.token != nil, collector.authorizes(token: token) else { return .refuseToken }
        mode = .relay
        settleUnidentified()
        relay = RelayDemux(collector: collector, channel: context.channel, node: String(node.prefix(200)))
        let reply = ConnectionReply(kind: "relay.ok", v: 1, run: collector.runID, log: nil)
        context.writeAndFlush(NIOAny(ByteBuffer(string: reply.line)), promise: nil)
        return .keep
    }

    private func serve(_ request: ConnectionRequest, context: ChannelHandlerContext) {
        silenceCheck?.cancel()
        settleUnidentified()
        let channel = context.channel
        let collector = collector, peer = peer
        if case .viewer = request { onViewer() }
        requestTask = Task {
            let reply = await collector.reply(to: request, from: peer)
            // Where the viewer starts is fixed before it hears the reply: a client that acts on
            // the reply (asks for stacks) must see every answer to it.
            var feedFrom: Int?
            if reply.kind == "viewer.ok", case let .viewer(_, fromEnd) = request { feedFrom = collector.viewerStart(fromEnd: fromEnd) }
            do {
                try await channel.writeAndFlush(ByteBuffer(string: reply.line)).get()
                if let feedFrom { try await ViewerFeed.run(channel: channel, log: collector.log, from: feedFrom) }
            } catch {
                // The viewer went away; nothing to tell anyone.
            }
            try? await channel.close().get()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        silenceCheck?.cancel()
        identifyDeadline?.cancel()
        identifyDeadline = nil
        settleUnidentified()
        requestTask?.cancel()
        if let relay {
            relay.connectionClosed(reason: endReason ?? "connection closed")
            stream = nil
        } else if mode == .request, stream?.rank == nil {
            stream = nil
        } else {
            stream?.end(reason: endReason ?? "connection closed without bye")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if endReason == nil { endReason = "connection error: \(error)" }
        context.close(promise: nil)
    }

    /// A rank that stops talking (not even heartbeats) is written lost and dropped; a live
    /// emitter reconnects and says hello again.
    ///
    /// One timer per connection, due when it would have been silent too long, moved on when it
    /// fires early: with 4096 quiet ranks a timer a second each was a quarter of the collector's
    /// CPU (docs/benchmarks.md, "many quiet ranks").
    private func scheduleSilenceCheck(context: ChannelHandlerContext) {
        let due = lastHeard + silenceTimeout
        silenceCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            if mode == .rank || mode == .relay, NIODeadline.now() - lastHeard >= silenceTimeout {
                let seconds = Int(silenceTimeout.nanoseconds / 1_000_000_000)
                endReason = "silent for \(seconds) s: heartbeats stopped"
                context.close(promise: nil)
            } else if mode != .request, context.channel.isActive {
                scheduleSilenceCheck(context: context)
            }
        }
    }
}
