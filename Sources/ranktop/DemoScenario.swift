import ArgumentParser

/// What `ranktop demo --scenario NAME` shows a newcomer, each in under 30 s with real rank
/// processes: the rank that causes it is always the last one.
enum DemoScenario: String, CaseIterable, ExpressibleByArgument, Sendable {
    case clean
    case straggler
    case hang
    case collectiveHang = "collective-hang"
    case crash
    case mismatch

    var summary: String {
        switch self {
        case .clean: "every rank at the same pace; the run stops early from code when the loss plateaus"
        case .straggler: "the last rank gets slower and slower: its score (SLOW) climbs and the header says straggling"
        case .hang: "the last rank never reaches the first checkpoint barrier: the diagnosis names the barrier and the missing rank; S shows its stack"
        case .collectiveHang: "the last rank stops feeding data: the others block in the trigger check's all-reduce, and ranktop says who is missing"
        case .crash: "the last rank fails with a traceback in its bye; the others are stopped"
        case .mismatch: "the last rank calls another barrier than the others at the first checkpoint: the waits panel flags the mismatch"
        }
    }

    /// The --help table.
    static var help: String {
        allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n")
    }
}
