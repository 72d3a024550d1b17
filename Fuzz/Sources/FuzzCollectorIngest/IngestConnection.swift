import RanktopProtocol
import RanktopCollector

/// One connection as `CollectorConnectionHandler` sees it: a stream, its framer, and whether
/// its first line made it a rank's connection or a one-shot request.
final class IngestConnection {
    enum Mode {
        case undecided, rank, request
    }

    let stream: RankStream
    let control: RecordingControl
    let peer: PeerIdentity
    var framer = LineFramer()
    var mode = Mode.undecided
    /// Why the collector closed it, for `lost`; nil while the peer is the one to close it.
    var endReason: String?

    init(stream: RankStream, control: RecordingControl, peer: PeerIdentity) {
        self.stream = stream
        self.control = control
        self.peer = peer
    }
}
