import ArgumentParser
import RanktopModel

/// `--stall-after`: when a rank that is alive but not progressing counts as stalled, for every
/// command that judges a run (the dashboards, `report`).
struct StallFlags: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Seconds without progress (no step, no barrier or collective completed) after which a live rank is stalled. Default: 10 times the rank's typical step time, at least \(Int(StallPolicy.standard.floor)) s.",
        valueName: "seconds"))
    var stallAfter: Double?

    var policy: StallPolicy { StallPolicy(fixed: stallAfter) }

    func validate() throws {
        if let stallAfter, !(stallAfter.isFinite && stallAfter > 0) {
            throw ValidationError("--stall-after must be a number of seconds above 0, not \(stallAfter)")
        }
    }
}
