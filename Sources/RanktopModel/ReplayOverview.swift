/// The whole log as far as the first pass has read it.
public struct ReplayOverview: Sendable {
    public var start: Double?
    public var end: Double?
    /// Sorted by time.
    public var moments: [NotableMoment]
    /// How much of the file the first pass has read, 0...1.
    public var indexed: Double
    /// The first pass has read the whole log.
    public var complete: Bool
    public var events: Int
    /// Lines that were not events.
    public var rejected: Int

    public init(start: Double?, end: Double?, moments: [NotableMoment], indexed: Double, complete: Bool, events: Int, rejected: Int) {
        self.start = start
        self.end = end
        self.moments = moments
        self.indexed = indexed
        self.complete = complete
        self.events = events
        self.rejected = rejected
    }
}
