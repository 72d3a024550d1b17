import RanktopProtocol

/// What a collector listens on, where it logs, and who may talk to it.
public struct CollectorConfiguration: Sendable {
    /// Every address to listen on at once (unix: and tcp:// today).
    public var listen: [Address]
    /// The event log; appended to when it exists.
    public var logPath: String
    /// The run this collector serves, shown to viewers.
    public var runID: String
    /// Required of every TCP connection (ranks in `hello.token`, viewers and control requests in
    /// their first line), loopback included: any local user can reach a loopback port. Unix-socket
    /// peers are admitted by their credentials instead (this user, or root). Listening on TCP
    /// without a token is refused.
    public var token: String?
    /// A rank that sends nothing (not even a heartbeat, which emitters send after 2 s of quiet) for
    /// this long is written `lost` and disconnected; it comes back by reconnecting.
    public var silenceTimeout: Double
    /// A connection that neither says hello nor makes a request within this many seconds is
    /// closed (OpenSSH's LoginGraceTime).
    public var identifyTimeout: Double
    /// The log is flushed to the file at least this often (seconds).
    public var flushInterval: Double
    /// Where to leave the token for this user's own tools once listening on TCP
    /// (`TokenFile.defaultPath`); removed at stop. Nil: nowhere.
    public var tokenFile: String?
    /// Where to leave the run file (`RunFile.defaultPath`) once listening: how `ls` and `serve
    /// --resume` find this run after a crash. Removed at stop. Nil: nowhere.
    public var runFile: String?
    /// Fold every event into a live `RunModel` as it is logged (`Collector.model()`): what a
    /// launcher's end-of-run summary reads. Off for `serve`, which needs none, since it costs
    /// ingest about a tenth of its throughput (automatic stack capture folds one off the ingest
    /// path instead: `LogModelFollower`).
    public var keepsLiveModel: Bool
    /// Once a barrier or collective has been open this many seconds, or a rank is stalled, ask
    /// the ranks missing from it and a sample of those waiting in it for their stacks, once each
    /// (`RunSnapshot.stackCandidates`); 0 never does.
    public var stackAfter: Double
    /// Where warnings go (a rank sending garbage, a log that cannot be written).
    public var warn: @Sendable (String) -> Void
    /// How `shm://` addresses are read (the geometry of a segment the collector creates; a
    /// one-time drain for a reader of a flight recorder).
    public var sharedMemory = SharedMemoryOptions()
    /// Commands run once per stall, failure and end of the run (none by default).
    public var hooks = HookCommands()
    /// Where to serve Prometheus metrics (`--metrics HOST:PORT`), if anywhere.
    public var metrics: (host: String, port: Int)?

    public init(
        listen: [Address], logPath: String, runID: String, token: String? = nil,
        silenceTimeout: Double = 30, flushInterval: Double = 0.2, identifyTimeout: Double = 10, tokenFile: String? = nil,
        keepsLiveModel: Bool = false, stackAfter: Double = 0,
        warn: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.stackAfter = stackAfter
        self.tokenFile = tokenFile
        self.keepsLiveModel = keepsLiveModel
        self.identifyTimeout = identifyTimeout
        self.listen = listen
        self.logPath = logPath
        self.runID = runID
        self.token = token
        self.silenceTimeout = silenceTimeout
        self.flushInterval = flushInterval
        self.warn = warn
    }


    /// Refuses what would expose a run without a token, and thresholds that mean nothing.
    func validate() throws(TransportError) {
        if listen.isEmpty { throw TransportError("nothing to listen on: give at least one --listen address") }
        if !(stackAfter >= 0 && stackAfter.isFinite) { throw TransportError("the stack capture threshold must be 0 (off) or a positive number of seconds, not \(stackAfter)") }
        if token?.isEmpty == true { throw TransportError("the token is empty: give a non-empty --token or RANKTOP_TOKEN") }
        for address in listen where address.isTCP && token == nil {
            throw TransportError(
                "listening on \(address) needs a token, since any user of this machine (or beyond) can reach a TCP port: " +
                "set RANKTOP_TOKEN or give `ranktop serve --token` (ranks need the same RANKTOP_TOKEN), or listen on a unix: socket"
            )
        }
    }
}
