/// Where a viewer (the dashboard, a plain live view) gets a run from: a collector, live, or an
/// event log, replayed. Transports implement it; the UI only sees this.
public protocol RunSource: Sendable {
    /// Every event so far, then live events as they arrive, in batches as they were decoded (a
    /// read of the log, a chunk of a viewer connection), so a consumer pays its hop and its lock
    /// once per batch, not per event; finishes when the source ends (the collector went away, or
    /// the log was read to its end). Never yields an empty batch.
    func batches() -> AsyncStream<[Event]>
    /// Asks every rank to raise its trigger at its next `check_trigger`. Returns the injection id
    /// once the collector has handed the request to the run.
    func injectTrigger(reason: String?) async throws -> String
    /// Asks one rank for its training thread's stack; the answer arrives as a `stack` event.
    func requestStack(rank: Int) async throws
    /// What to show the user: an address or a log path.
    var label: String { get }
    /// False where control requests cannot reach a run (a replayed log).
    var canControl: Bool { get }
}

extension RunSource {
    /// The batches, one event at a time, for a consumer that does little per event.
    public func events() -> AsyncStream<Event> {
        let batches = batches()
        return AsyncStream { continuation in
            let pump = Task {
                for await batch in batches {
                    for event in batch { continuation.yield(event) }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
    }
}
