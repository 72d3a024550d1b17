/// A collective or the rendezvous behind it failed: the store could not be reached, a peer went
/// away, a collective timed out, or the launch environment is inconsistent. The message names the
/// rank, the collective and what to check.
public struct RendezvousError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// The store (rank 0) went away: during a launcher's teardown that is the stop reaching
    /// rank 0 first, not this rank's failure.
    public var storeGone: Bool

    public init(_ message: String, storeGone: Bool = false) {
        self.message = message
        self.storeGone = storeGone
    }

    public var description: String { message }
}
