import RanktopProtocol

/// One ingest path into the collector: Unix sockets and TCP today, shared memory later.
///
/// A transport turns whatever it carries into rank streams (`Collector.openRankStream`) and gives
/// the collector a way back to each rank (`RankControl`). Validation, `seq` accounting, `lost`,
/// the event log and viewers all live behind `RankStream`, so a new transport adds only its own
/// file and one line in `Collector.makeTransport(for:)`; the model and the UI never know.
public protocol Transport: Sendable {
    /// Starts accepting ranks; returns the address ranks should be given (a TCP port 0 resolved).
    func start(collector: Collector) async throws -> Address
    /// Stops accepting and closes every rank's connection. Does not write `lost`: the ranks are
    /// fine, it is the collector that goes away.
    func stop() async
    /// After the log is closed: waits (briefly) for viewers to read to its end, then closes
    /// whatever is still open.
    func finish() async
}

extension Transport {
    public func finish() async {}
}

/// The collector's way back to one rank on its own connection.
public protocol RankControl: Sendable {
    /// Hands `line` to the rank; returns once the transport has passed it on (written to the socket).
    func send(_ line: ControlLine) async throws
    /// Hands `line` to the rank without waiting to hear how it went, and without a task: the
    /// collector's own timers (stack capture) must not wait on Swift's cooperative pool, which a
    /// process that blocks its threads holds back for seconds.
    func post(_ line: ControlLine)
    /// Drops the connection (an older connection of a rank that reconnected, a silent rank).
    func disconnect()
}

/// A transport could not start or a request could not be served; the message is for the user.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public var description: String
    /// No answer came in time (as opposed to a refusal or nothing listening).
    public var timedOut: Bool
    public init(_ description: String, timedOut: Bool = false) {
        self.description = description
        self.timedOut = timedOut
    }
}
