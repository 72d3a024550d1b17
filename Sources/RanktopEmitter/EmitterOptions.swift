/// Tuning of an `Emitter`. The defaults suit a training process; tests shrink them.
public struct EmitterOptions: Sendable {
    /// Events held while the collector is slow or away; beyond it the oldest are dropped.
    public var queueEvents: Int
    /// A `heartbeat` goes out when nothing was sent for this long (protocol v1: 2 s).
    public var heartbeatInterval: Double
    /// First wait before reconnecting; doubles after every failed attempt up to `maxBackoff`.
    public var initialBackoff: Double
    public var maxBackoff: Double
    /// A connection that lived this long resets the backoff (one that a collector closes at once,
    /// say for a wrong token, keeps backing off instead of hammering it).
    public var stableConnection: Double
    public var connectTimeout: Double
    /// After the queue runs dry the writer keeps looking every `lingerInterval` seconds (at the
    /// wall clock's multiples of it, as every rank of the host does) for
    /// `lingerDuration` before it parks: while events keep coming, producers never pay for a
    /// wakeup (a system call), at the price of at most `lingerInterval` of extra latency. 20 ms,
    /// as the Python adapter's writer: at 2 ms a rank sending a few hundred events a second made
    /// a send (and a collector read) per event, 36 us of collector CPU each (docs/benchmarks.md).
    public var lingerInterval: Double
    public var lingerDuration: Double

    public init(
        queueEvents: Int = 8192, heartbeatInterval: Double = 2, initialBackoff: Double = 0.05, maxBackoff: Double = 2,
        stableConnection: Double = 5, connectTimeout: Double = 2, lingerInterval: Double = 0.02, lingerDuration: Double = 1
    ) {
        self.queueEvents = max(queueEvents, 16)
        self.heartbeatInterval = heartbeatInterval
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.stableConnection = stableConnection
        self.connectTimeout = connectTimeout
        self.lingerInterval = lingerInterval
        self.lingerDuration = lingerDuration
    }
}

/// What an emitter did so far.
public struct EmitterStatistics: Sendable, Equatable {
    /// Events given a `seq`, `hello` included.
    public var produced: Int
    /// Events lost to a full queue, an oversize line, or a stopped emitter.
    public var dropped: Int
    /// Connections made to the collector so far.
    public var connections: Int
    public var connected: Bool
    /// The highest `seq` written whole to a connection: what a collector could have lost from
    /// here on is counted as dropped, what the emitter never sent is its own `dropped`.
    public var sentThrough: Int = 0
}
