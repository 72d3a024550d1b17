import RanktopModel
import RanktopProtocol

/// Whether the collector of a log's session still runs: a fact of this machine, which the log
/// cannot hold (a dead collector writes nothing more).
public enum CollectorProcess {
    /// True when the session never ended, ran on this host, and its process is gone. False when
    /// it ended cleanly, may still run, or ran on another host (nothing here can tell).
    public static func isGone(_ session: CollectorSession?) -> Bool {
        guard let session, session.endedAt == nil else { return false }
        return !mayBeRunning(pid: session.pid, node: session.node)
    }

    /// False only when `pid` ran on this host and is gone: a process on another host cannot be
    /// checked from here. The one test of a process's life from a log or a run file: the
    /// collector's, and the ranks' that `ls` counts.
    public static func mayBeRunning(pid: Int, node: String) -> Bool {
        node != PeerIdentity.hostName() || ShmSegment.processExists(pid)
    }
}
