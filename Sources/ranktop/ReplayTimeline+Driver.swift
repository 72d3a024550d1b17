import RanktopCollector
import RanktopUI

/// The dashboard drives a replayed log's timeline: the protocol is the UI's, the timeline the
/// collector's, and neither target knows the other.
extension ReplayTimeline: ReplayDriver {}
