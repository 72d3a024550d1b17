import NIOCore
import RanktopProtocol

/// The head's side of one relay connection: the streams (rank processes) of a node, each a
/// `RankStream` of its own, as if every rank had connected directly. When the connection goes,
/// its ranks are `unreachable`, not `lost`: the relay died, not (necessarily) they.
///
/// Confined to the connection's event loop, as a `RankStream` is.
final class RelayDemux {
    private let collector: Collector
    private let channel: any Channel
    let node: String
    private var streams: [Int: RankStream] = [:]
    private var current: RankStream?
    private var touched: [RankStream] = []
    /// Streams one relay may hold open: a node's ranks, generously.
    static let maxStreams = 65_536

    init(collector: Collector, channel: any Channel, node: String) {
        self.collector = collector
        self.channel = channel
        self.node = node
    }

    /// One line of the connection after its hello.
    func accept(_ line: UnsafeBufferPointer<UInt8>) -> RankStream.Verdict {
        if RelayLine.isRelayLine(line) {
            switch RelayLine.parse(line) {
            case let .stream(id)?:
                if let stream = streams[id] {
                    current = stream
                } else {
                    guard streams.count < RelayDemux.maxStreams else { return .disconnect("more than \(RelayDemux.maxStreams) streams on one relay") }
                    let stream = collector.openRankStream(
                        peer: PeerIdentity(.network("relay on \(node)")), control: RelayRankControl(channel: channel, stream: id), relayed: true
                    )
                    streams[id] = stream
                    current = stream
                }
            case let .end(id, lost)?:
                if let stream = streams.removeValue(forKey: id) {
                    stream.commit()
                    stream.end(reason: lost)
                    if current === stream { current = nil }
                }
            case .heartbeat?:
                break
            case .hello?, nil:
                return .disconnect("a relay line the collector does not understand")
            }
            return .keep
        }
        guard let current else { return .disconnect("a rank's line before any relay.stream") }
        if touched.last !== current { touched.append(current) }
        return current.accept(line: line)
    }

    /// The end of a read: what every stream took goes to the log.
    func commit() {
        for stream in touched { stream.commit() }
        touched.removeAll(keepingCapacity: true)
    }

    /// The relay's connection is gone: every rank it carried is unreachable.
    func connectionClosed(reason: String) {
        commit()
        for id in streams.keys.sorted() {
            streams[id]!.end(reason: nil, unreachable: "the relay on \(node) is gone (\(reason))")
        }
        streams.removeAll()
    }
}

/// The head's way back to a rank behind a relay: the control line, tagged with its stream.
struct RelayRankControl: RankControl {
    let channel: any Channel
    let stream: Int

    func send(_ line: ControlLine) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: RelayLine.control(line, stream: stream))).get()
    }

    func post(_ line: ControlLine) {
        channel.writeAndFlush(ByteBuffer(string: RelayLine.control(line, stream: stream)), promise: nil)
    }

    func disconnect() {}
}
