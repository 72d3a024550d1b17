/// The collector's limits against clients that misbehave, in the manner of OpenSSH's
/// LoginGraceTime and MaxStartups: connections that never say who they are time out and are
/// capped, token guesses are slowed down and logged, and injections are rate limited.
struct ClientGuards: Sendable {
    /// Connections open at once that have not identified themselves; more are closed at once.
    /// As many as a whole large run connecting at once (every rank of a 4096-rank torchrun job
    /// starts together, and the collector accepts faster than it reads their hellos); an idle
    /// connection costs about 7 KB, so the cap bounds a flood at about 30 MB for 10 s.
    static let maxUnidentified = 4096
    /// Injection requests: a burst of this many, then one a second.
    static let injectionBurst = 5.0
    static let injectionsPerSecond = 1.0
    /// Wrong tokens within this window make each next refusal slower, up to `maxRefusalDelay`.
    static let tokenFailureWindow = 60.0
    static let maxRefusalDelay = 8.0
    /// Wrong tokens written to the log one by one; past this, counted in a summary line.
    static let tokenFailuresLogged = 5

    var unidentified = 0
    private var injectionAllowance = ClientGuards.injectionBurst
    private var allowanceAt: Double?
    private var recentTokenFailures: [Double] = []
    private(set) var tokenFailures = 0
    private(set) var injectionsRefused = 0

    /// Whether a new connection may be held while it identifies itself.
    mutating func admitUnidentified() -> Bool {
        guard unidentified < ClientGuards.maxUnidentified else { return false }
        unidentified += 1
        return true
    }

    mutating func identifiedOrClosed() {
        unidentified = max(0, unidentified - 1)
    }

    /// Takes one injection from the allowance; false when the client must wait.
    mutating func allowInjection(now: Double) -> Bool {
        if let at = allowanceAt {
            injectionAllowance = min(ClientGuards.injectionBurst, injectionAllowance + (now - at) * ClientGuards.injectionsPerSecond)
        }
        allowanceAt = now
        guard injectionAllowance >= 1 else {
            injectionsRefused += 1
            return false
        }
        injectionAllowance -= 1
        return true
    }

    /// Notes a wrong token; returns how long to wait before refusing, and whether to log it.
    mutating func tokenFailed(now: Double) -> (delay: Double, log: Bool) {
        tokenFailures += 1
        recentTokenFailures.removeAll { now - $0 > ClientGuards.tokenFailureWindow }
        recentTokenFailures.append(now)
        let exponent = min(recentTokenFailures.count - 1, 6)
        let delay = min(ClientGuards.maxRefusalDelay, 0.125 * Double(1 << exponent))
        let log = tokenFailures <= ClientGuards.tokenFailuresLogged || tokenFailures % 100 == 0
        return (delay, log)
    }
}
