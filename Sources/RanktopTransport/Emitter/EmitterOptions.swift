/// Tuning of an `Emitter`. The defaults suit a training process; tests shrink them.
public struct EmitterOptions: Sendable {
    /// Bytes of encoded events held while the collector is slow or away (about 8,000 events).
    public var queueBytes: Int
    /// A `heartbeat` goes out when nothing was sent for this long (protocol v1: 2 s).
    public var heartbeatInterval: Double
    /// First wait before reconnecting; doubles after every failed attempt up to `maxBackoff`.
    public var initialBackoff: Double
    public var maxBackoff: Double
    /// A connection that lived this long resets the backoff (one that a collector closes at once,
    /// say for a wrong token, keeps backing off instead of hammering it).
    public var stableConnection: Double
    public var connectTimeout: Double

    public init(
        queueBytes: Int = 1 << 20, heartbeatInterval: Double = 2, initialBackoff: Double = 0.05, maxBackoff: Double = 2,
        stableConnection: Double = 5, connectTimeout: Double = 2
    ) {
        self.queueBytes = max(queueBytes, 4096)
        self.heartbeatInterval = heartbeatInterval
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.stableConnection = stableConnection
        self.connectTimeout = connectTimeout
    }
}

/// What an emitter did so far.
public struct EmitterStatistics: Sendable, Equatable {
    /// Events given a `seq`, `hello` included.
    public var produced: Int
    /// Events lost to a full queue or an oversize line.
    public var dropped: Int
    /// Connections made to the collector so far.
    public var connections: Int
    public var connected: Bool
}
