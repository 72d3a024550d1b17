#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import Ranktop
import RanktopProtocol

/// The simulated training run behind `ranktop demo`, one rank of it: a main-first dataset phase,
/// paced training steps with jitter and one slow rank, checkpoint barriers, evaluation with the
/// local main process first, a trigger check every step, and an early stop from code once the
/// simulated loss plateaus (around three quarters of the way, so a watcher can stop it by hand
/// first). Every rank computes its own noisy loss, so the rank that notices the plateau first
/// stops everyone, exactly as with Accelerate's `set_trigger`.
struct DemoTraining {
    struct Plan {
        var steps: Int
        var stepTime: Double
        var slowRank: Int?
        var slowFactor = 1.4
        var checkpointEvery: Int
        var evalEvery: Int
        var earlyStop: Bool
        /// `ranktop demo --scenario`: what goes wrong, and on which rank (the last).
        var scenario: DemoScenario?
        var culprit: Int?
    }

    /// A simulated error whose text is the traceback a real rank would print.
    struct SimulatedCrash: Error, CustomStringConvertible {
        let rank: Int
        let step: Int
        var description: String {
            """
            RuntimeError: CUDA error: an illegal memory access was encountered (rank \(rank))
            Traceback (most recent call last):
              File "train.py", line 88, in <module>
                loss = model(batch).loss
              File "model.py", line 212, in forward
                attn = self.attention(hidden, mask)
            """
        }
    }

    enum Outcome: Equatable {
        case finished(steps: Int)
        case stopped(step: Int, check: Int)
    }

    let state: DistributedState
    let plan: Plan
    private var random: SplitMix64

    init(state: DistributedState, plan: Plan) {
        self.state = state
        self.plan = plan
        random = SplitMix64(seed: UInt64(state.rank) &+ 0x5EED)
    }

    /// Seconds of simulated work, scaled with the step time so a fast demo is fast throughout.
    private var pace: Double { plan.stepTime / 0.2 }

    mutating func run() throws -> Outcome {
        try state.mainProcessFirst(name: "load_dataset") {
            if state.isMainProcess {
                state.log("downloading and tokenizing the dataset")
                sleep(seconds: 0.8 * pace)
            } else {
                sleep(seconds: 0.2 * pace)
                state.log("dataset loaded from rank 0's cache")
            }
        }
        var losses: [Double] = []
        var outcome = Outcome.finished(steps: plan.steps)
        try state.withActivity("train loop") {
            for step in 1...plan.steps {
                sleep(seconds: stepDuration(at: step))
                try misbehave(at: step)
                let loss = simulatedLoss(at: step)
                losses.append(loss)
                state.progress(step: step, total: plan.steps, metrics: ["loss": rounded(loss), "lr": learningRate(at: step)])
                if plan.earlyStop, hasPlateaued(losses) {
                    state.setTrigger(reason: "loss plateaued at \(rounded(loss))")
                }
                if step % plan.checkpointEvery == 0 {
                    try checkpoint(first: step == plan.checkpointEvery)
                    if state.isMainProcess { sleep(seconds: 0.25 * pace) }
                }
                if step % plan.evalEvery == 0 {
                    try state.localMainProcessFirst(name: "evaluate") {
                        sleep(seconds: (state.isLocalMainProcess ? 0.3 : 0.1) * pace)
                    }
                }
                let check = step - 1
                if try state.checkTrigger() {
                    outcome = .stopped(step: step, check: check)
                    return
                }
            }
        }
        try state.waitForEveryone(name: "save_final_model")
        if state.isMainProcess { sleep(seconds: 0.2 * pace) }
        return outcome
    }

    private mutating func stepDuration(at step: Int) -> Double {
        let jitter = 0.85 + 0.3 * random.nextUnit()
        var slow = state.rank == plan.slowRank ? plan.slowFactor : 1
        // The straggler scenario's rank slows down as the run goes: from even to 2x.
        if plan.scenario == .straggler, state.rank == plan.culprit { slow = 1 + Double(step) / Double(plan.steps) }
        return plan.stepTime * jitter * slow
    }

    private var isCulprit: Bool { plan.culprit == state.rank }

    /// The scenarios that go wrong mid-step, on the culprit only.
    private func misbehave(at step: Int) throws {
        guard isCulprit, step == max(2, plan.checkpointEvery / 2) else { return }
        switch plan.scenario {
        case .collectiveHang:
            // Stuck before its trigger check: the others wait for it in the check's all-reduce.
            state.log("the data loader's worker died; waiting for the next batch", level: .warning)
            state.withActivity("data loader: next(batch) on a dead worker") { hangUntilStopped() }
        case .crash:
            throw SimulatedCrash(rank: state.rank, step: step)
        default:
            break
        }
    }

    /// A checkpoint: every rank meets in `save_checkpoint`, except in the hang and mismatch
    /// scenarios' first one.
    private func checkpoint(first: Bool) throws {
        if isCulprit, first {
            switch plan.scenario {
            case .hang:
                state.withActivity("save_checkpoint: writing shard \(state.rank) to /ckpt (stuck on the filesystem)") { hangUntilStopped() }
            case .mismatch:
                try state.waitForEveryone(name: "save_optimizer_state")
                return
            default:
                break
            }
        }
        try state.waitForEveryone(name: "save_checkpoint")
    }

    /// Sleeps until the process is stopped (the dashboard's q, Ctrl-C, or the run's stop).
    private func hangUntilStopped() {
        while true { sleep(seconds: 3600) }
    }

    /// An exponential decay towards a floor, with a little per-rank noise. The decay rate puts the
    /// plateau (under 1% better than `window` steps ago) near 75% of the run, whatever its length.
    private mutating func simulatedLoss(at step: Int) -> Double {
        let decay = 8.65 / Double(plan.steps)
        let noise = (random.nextUnit() - 0.5) * 0.0008
        return 0.4 + 1.9 * exp(-decay * Double(step)) + noise
    }

    private var window: Int { max(3, plan.steps / 10) }

    private func hasPlateaued(_ losses: [Double]) -> Bool {
        guard losses.count > window else { return false }
        let now = losses[losses.count - 1]
        let before = losses[losses.count - 1 - window]
        return before - now < 0.01 * now
    }

    /// Linear warmup over the first 10% of steps, then cosine decay.
    private func learningRate(at step: Int) -> Double {
        let warmup = max(1, plan.steps / 10)
        let peak = 3e-4
        let value = step <= warmup
            ? peak * Double(step) / Double(warmup)
            : peak * 0.5 * (1 + cos(Double.pi * Double(step - warmup) / Double(max(1, plan.steps - warmup))))
        return (value * 1e8).rounded() / 1e8
    }

    private func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    private func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        usleep(UInt32(min(seconds, 3600) * 1_000_000))
    }
}
