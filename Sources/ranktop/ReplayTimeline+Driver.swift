import RanktopCollector
import RanktopUI

/// The dashboard drives a replayed log's timeline: the protocol is the UI's, the timeline the
/// collector's, and neither target knows the other.
extension ReplayTimeline: ReplayDriver {
    public var overview: ReplayOverview {
        let found = self.found
        let indexed = found.fileSize > 0 ? Double(found.bytesRead) / Double(found.fileSize) : (found.done ? 1 : 0)
        return ReplayOverview(
            start: found.firstTs, end: found.lastTs, moments: found.moments, indexed: min(1, indexed), complete: found.done,
            events: found.events, rejected: found.rejected
        )
    }
}
