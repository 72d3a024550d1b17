import RanktopProtocol

/// One occurrence of a main-first phase across the run: the k-th time ranks entered a phase of
/// this name.
public struct PhaseInstance: Sendable {
    public let name: String
    public let mode: PhaseMode
    public let occurrence: Int
    public internal(set) var firstEnter: Double
    /// Longest main part: a main rank's `phase.enter` to its barrier inside the phase.
    public internal(set) var mainSeconds: Double?
    /// Longest others' part: that barrier's exit to a non-main rank's `phase.exit`.
    public internal(set) var othersSeconds: Double?
    public internal(set) var mainRanks = 0
    /// Each rank enters an occurrence once, so counts say who is still inside.
    public internal(set) var enteredCount = 0
    public internal(set) var exitedCount = 0
    public internal(set) var lastExit: Double?

    init(name: String, mode: PhaseMode, occurrence: Int, firstEnter: Double) {
        self.name = name
        self.mode = mode
        self.occurrence = occurrence
        self.firstEnter = firstEnter
    }

    mutating func recordMain(_ seconds: Double) { mainSeconds = max(mainSeconds ?? 0, seconds) }
    mutating func recordOthers(_ seconds: Double) { othersSeconds = max(othersSeconds ?? 0, seconds) }

    public var isComplete: Bool { enteredCount > 0 && exitedCount >= enteredCount }
}

struct PhaseKey: Hashable, Sendable {
    var name: String
    var occurrence: Int
    var generation: Int
}
