import RanktopProtocol

/// When a rank that is alive (its heartbeats come) counts as stalled: it has not moved on (no
/// step, no barrier or collective left) for longer than `threshold(typicalStep:)`.
///
/// The default, max(10 x the rank's typical step, 10 s), suits 30 ms steps and 30 s steps alike:
/// a run of fast steps is flagged within seconds of stopping, one of slow steps only once it is
/// clearly late, and a lone slow step (a checkpoint, an evaluation) is not flagged at once.
public struct StallPolicy: Sendable, Equatable {
    /// Multiple of the rank's typical step time.
    public var factor: Double
    /// The least time without progress that counts as a stall.
    public var floor: Double
    /// A fixed threshold that replaces the rule (`--stall-after`).
    public var fixed: Double?

    public init(factor: Double = 10, floor: Double = 10, fixed: Double? = nil) {
        self.factor = factor
        self.floor = floor
        self.fixed = fixed
    }

    public static let standard = StallPolicy()

    /// Seconds without progress after which a rank is stalled.
    public func threshold(typicalStep: Double?) -> Double {
        if let fixed { return fixed }
        guard let typicalStep, typicalStep.isFinite, typicalStep > 0 else { return floor }
        return max(factor * typicalStep, floor)
    }

    /// The median of recent step times: one slow step (or a fast burst) does not move it.
    public static func typicalStep<C: Collection>(_ stepTimes: C) -> Double? where C.Element == Double {
        guard stepTimes.count >= 3 else { return nil }
        let sorted = stepTimes.sorted()
        return sorted[sorted.count / 2]
    }
}

/// No rank of the run is progressing: since when (the last moment any rank moved on), and the
/// step it stands at.
public struct RunStall: Sendable, Equatable {
    public var since: Double
    public var step: Int?
    /// Ranks alive and not progressing (all of them, by definition; stale ones included).
    public var ranks: RankSet
}
