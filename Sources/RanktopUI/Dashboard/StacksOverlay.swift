import RanktopProtocol

/// The `S` view's state: when every rank was asked for its stack and which ranks were, and which
/// group is leftmost on screen.
public struct StacksOverlay: Sendable, Equatable {
    /// When the ranks were asked, on the run's clock; nil where nobody was asked (a replay, a run
    /// that is over): the view then shows the last stacks the log holds.
    public var at: Double?
    public var asked: RankSet
    /// The first group shown; Left and Right move it.
    public var firstGroup = 0

    public init(at: Double?, asked: RankSet) {
        self.at = at
        self.asked = asked
    }

    /// Whether `stack`, answered at `ts`, answers this request (as the detail panel judges: a
    /// rank's clock may run a little behind the dashboard's).
    func isAnswered(byStackAt ts: Double) -> Bool {
        at.map { ts >= $0 - 5 } ?? true
    }
}
