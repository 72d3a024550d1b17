/// A collective or the rendezvous behind it failed: the store could not be reached, a peer went
/// away, a collective timed out, or the launch environment is inconsistent. The message names the
/// rank, the collective and what to check.
public struct RendezvousError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
