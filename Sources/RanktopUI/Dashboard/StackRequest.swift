/// A `d` stack request as the rank detail shows it: asked and waiting, failed (said why), or
/// waited for too long. A request that never reaches the rank must not read as "waiting".
public struct StackRequest: Sendable, Equatable {
    /// Seconds after which a request with no answer is shown as unanswered.
    public static let answerTimeout = 10.0

    /// When it was asked, on the run's clock.
    public var at: Double
    /// Why it did not reach the rank, once the source said so.
    public var failure: String?

    public init(at: Double, failure: String? = nil) {
        self.at = at
        self.failure = failure
    }

    /// No answer, and none to expect any more.
    public func expired(now: Double) -> Bool {
        failure == nil && now - at >= StackRequest.answerTimeout
    }
}
