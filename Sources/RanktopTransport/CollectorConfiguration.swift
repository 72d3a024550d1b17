import RanktopProtocol

/// What a collector listens on, where it logs, and who may talk to it.
public struct CollectorConfiguration: Sendable {
    /// Every address to listen on at once (unix: and tcp:// today).
    public var listen: [Address]
    /// The event log; appended to when it exists.
    public var logPath: String
    /// The run this collector serves, shown to viewers.
    public var runID: String
    /// Required of every connection when set (ranks in `hello.token`, viewers and control
    /// requests in their first line). Listening beyond loopback without one is refused.
    public var token: String?
    /// A rank that sends nothing (not even a heartbeat, which emitters send after 2 s of quiet) for
    /// this long is written `lost` and disconnected; it comes back by reconnecting.
    public var silenceTimeout: Double
    /// The log is flushed to the file at least this often (seconds).
    public var flushInterval: Double
    /// Where warnings go (a rank sending garbage, a log that cannot be written).
    public var warn: @Sendable (String) -> Void

    public init(
        listen: [Address], logPath: String, runID: String, token: String? = nil,
        silenceTimeout: Double = 30, flushInterval: Double = 1,
        warn: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.listen = listen
        self.logPath = logPath
        self.runID = runID
        self.token = token
        self.silenceTimeout = silenceTimeout
        self.flushInterval = flushInterval
        self.warn = warn
    }

    /// Refuses what would expose a run without a token.
    func validate() throws(TransportError) {
        if listen.isEmpty { throw TransportError("nothing to listen on: give at least one --listen address") }
        if token?.isEmpty == true { throw TransportError("the token is empty: give a non-empty --token or RANKTOP_TOKEN") }
        for address in listen where !address.isLoopback && token == nil {
            throw TransportError(
                "listening on \(address) reaches beyond this machine, which needs a token: set RANKTOP_TOKEN " +
                "(or give `ranktop serve --token`; ranks need the same RANKTOP_TOKEN), or listen on 127.0.0.1"
            )
        }
    }
}
