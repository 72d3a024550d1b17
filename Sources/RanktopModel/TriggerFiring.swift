import RanktopProtocol

/// A `trigger.set`: who raised the flag and why.
public struct TriggerCause: Sendable, Equatable {
    public var rank: Int?
    public var source: TriggerSource
    public var reason: String?
    /// The injection id, for a manual trigger.
    public var id: String?
    public var ts: Double
}

/// A check ordinal where `fired` was true, with the sets that caused it.
public struct TriggerFiring: Sendable, Equatable {
    public var check: Int
    public var ts: Double
    /// The highest step any rank had reported when the check fired.
    public var step: Int?
    public var causes: [TriggerCause] = []
    /// How many ranks reported this check as fired.
    public var ranksFired = 0
}

/// A manual trigger someone asked for, until a rank applies it.
public struct PendingInjection: Sendable, Equatable {
    public var id: String
    public var reason: String?
    public var by: String?
    public var ts: Double
    /// When a rank applied it (`trigger.set` with this id).
    public var appliedAt: Double?
}
