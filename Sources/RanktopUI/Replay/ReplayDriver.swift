import RanktopModel

/// A replayed log as the dashboard drives it: a position that moves, and the model there. The
/// dashboard owns the pace (`ReplayPlayback`); the driver only folds and seeks. Called from the
/// dashboard's thread alone.
public protocol ReplayDriver: AnyObject, Sendable {
    /// The model at the position.
    var model: RunModel { get }
    /// The time at the position, nil before anything was read.
    var clock: Double? { get }
    /// Events folded into `model`.
    var index: Int { get }
    /// Folds on until the clock would pass `time`, at most `limit` events; true when it got there.
    @discardableResult
    func advance(to time: Double, limit: Int) -> Bool
    /// Live at the end of a followed log: folds what has been appended (at most `limit`
    /// events); the clock is `wall`.
    func followLive(wall: Double, limit: Int)
    func seek(to time: Double)
    func step(by delta: Int)
    /// Past the last event the log holds now.
    var isAtEnd: Bool { get }
    /// What the first pass knows: the log's extent, its notable moments, how far it read.
    var overview: ReplayOverview { get }
}
