import RanktopModel
import RanktopProtocol

/// Whether the collector of a log's session still runs: a fact of this machine, which the log
/// cannot hold (a dead collector writes nothing more).
public enum CollectorProcess {
    /// True when the session never ended, ran on this host, and its process is gone. False when
    /// it ended cleanly, may still run, or ran on another host (nothing here can tell).
    public static func isGone(_ session: CollectorSession?) -> Bool {
        guard let session, session.endedAt == nil, session.node == PeerIdentity.hostName() else { return false }
        return !ShmSegment.processExists(session.pid)
    }
}
