import RanktopProtocol

/// A deterministic, realistic run as events: a main-first dataset phase, training steps with one
/// slow rank, a checkpoint barrier it straggles into, an evaluation barrier whose name differs
/// between halves of the world (a mismatch), a trigger fired from code, and finally a checkpoint
/// barrier left open with ranks missing for every reason (slow, lost, failed, never heard from)
/// and one stale rank, plus a pending injection. Snapshot tests, the dashboard benchmark and
/// replay logs are all built from it, so they show the same story at any size.
public struct SyntheticRun: Sendable {
    public var world: Int
    public var ranksPerNode: Int
    public var steps: Int
    /// Runs 10% slower than the rest; still computing when the others wait at the last barrier.
    public var slowRank: Int
    public var lostRanks: [Int]
    public var failedRanks: [Int]
    /// Never say hello. The model keeps a barrier open until every rank of the world left it,
    /// so with silent ranks the barriers stay open: use them for a run stuck at its start.
    public var silentRanks: [Int]
    /// Enter the last barrier, then go quiet.
    public var staleRanks: [Int]
    public static let t0 = 1_764_374_400.0

    public init(world: Int, ranksPerNode: Int, steps: Int, slowRank: Int, lostRanks: [Int], failedRanks: [Int], silentRanks: [Int], staleRanks: [Int]) {
        self.world = world
        self.ranksPerNode = ranksPerNode
        self.steps = steps
        self.slowRank = slowRank
        self.lostRanks = lostRanks
        self.failedRanks = failedRanks
        self.silentRanks = silentRanks
        self.staleRanks = staleRanks
    }

    /// Eight ranks on two nodes: rank 5 slow, rank 7 lost, rank 6 stale.
    public static let eight = SyntheticRun(world: 8, ranksPerNode: 4, steps: 60, slowRank: 5, lostRanks: [7], failedRanks: [], silentRanks: [], staleRanks: [6])

    /// 64 ranks on eight nodes.
    public static let sixtyFour = SyntheticRun(world: 64, ranksPerNode: 8, steps: 60, slowRank: 5, lostRanks: [7], failedRanks: [40], silentRanks: [], staleRanks: [6])

    /// 4096 ranks on 512 nodes of eight.
    public static let large = SyntheticRun(
        world: 4096, ranksPerNode: 8, steps: 9, slowRank: 1023, lostRanks: [2048, 2049, 2050], failedRanks: [3071],
        silentRanks: [], staleRanks: [6, 3000]
    )

    /// The moment the snapshot is taken: shortly after the last event.
    public var now: Double { lastTs + 0.5 }

    private var lastTs: Double { SyntheticRun.t0 + 30 + Double(steps) * 0.5 * 1.1 + 12 }

    public func node(of rank: Int) -> String {
        "gpu-\(rank / ranksPerNode + 1)"
    }

    public func events() -> [Event] {
        var out: [Event] = []
        var seq = [Int](repeating: 0, count: world)
        let t0 = SyntheticRun.t0
        func emit(_ rank: Int, _ ts: Double, _ body: EventBody) {
            if rank >= 0, silentRanks.contains(rank) { return }
            let s: Int? = rank >= 0 ? seq[rank] : nil
            if rank >= 0 { seq[rank] += 1 }
            out.append(Event(rank: rank, ts: ts, seq: s, body))
        }
        let alive = (0..<world).filter { !silentRanks.contains($0) }
        for r in alive {
            emit(r, t0 + Double(r) * 0.0001, .hello(Hello(
                run: "r42", world: world, localRank: r % ranksPerNode, localWorld: ranksPerNode, node: node(of: r),
                pid: 4000 + r, runtime: "accelerate/1.15.0 torch/2.15.0", timeout: 600, caps: ["inject", "stack"]
            )))
        }
        // The dataset phase: rank 0 loads while the others wait at the phase's barrier.
        for r in alive {
            emit(r, t0 + 1, .phaseEnter(PhaseEnter(name: "load_dataset", mode: .mainFirst, main: r == 0)))
            if r != 0 { emit(r, t0 + 1.01, .barrierEnter(BarrierEnter(n: 0, site: "train.py:41", phase: "load_dataset"))) }
        }
        emit(0, t0 + 21, .barrierEnter(BarrierEnter(n: 0, site: "train.py:41", phase: "load_dataset")))
        for r in alive { emit(r, t0 + 21.1, .barrierExit(n: 0)) }
        for r in alive { emit(r, t0 + (r == 0 ? 21.2 : 24 + Double(r % 7) * 0.1), .phaseExit(name: "load_dataset")) }

        let checkpoint = steps / 3, evaluation = 2 * steps / 3
        func stepTime(_ r: Int, _ step: Int) -> Double {
            t0 + 30 + Double(step) * 0.5 * (r == slowRank ? 1.1 : 1.0) + Double((r * 7 + step * 3) % 10) * 0.004
        }
        var timeline: [(ts: Double, rank: Int, body: EventBody)] = []
        for r in alive {
            let ends = lostRanks.contains(r) ? evaluation + 2 : failedRanks.contains(r) ? evaluation + 3 : (r == slowRank ? steps - 2 : steps)
            for step in 1...ends {
                let ts = stepTime(r, step)
                timeline.append((ts, r, .progress(Progress(step: step, total: 1000, epoch: Double(step) / 1000,
                                                               metrics: [Metric("loss", 2.5 - Double(step) * 0.01), Metric("lr", 0.0003)]))))
                // Rank 2 raises the trigger from code before check 29; it fires everywhere.
                if r == 2, step == 30 { timeline.append((ts + 0.0005, r, .triggerSet(TriggerSet(source: .code, reason: "loss spike")))) }
                timeline.append((ts + 0.001, r, .triggerCheck(n: step - 1, fired: step == 30)))
                if r == slowRank, step == steps / 2 { timeline.append((ts + 0.002, r, .log(level: .warning, msg: "data loader slow: 1.8 s/batch"))) }
            }
        }
        // Checkpoint barrier: everyone waits for the slow rank.
        let checkpointEnd = stepTime(slowRank, checkpoint) + 0.01
        for r in alive {
            timeline.append((stepTime(r, checkpoint) + 0.002, r, .barrierEnter(BarrierEnter(n: 1, name: "checkpoint", site: "train.py:88"))))
            timeline.append((checkpointEnd + 0.05, r, .barrierExit(n: 1)))
        }
        // Evaluation barrier: the two halves of the world disagree on its name.
        let evalEnd = stepTime(slowRank, evaluation) + 0.01
        for r in alive {
            timeline.append((stepTime(r, evaluation) + 0.002, r, .barrierEnter(BarrierEnter(n: 2, name: r < world / 2 ? "eval" : "evaluate", site: "train.py:97"))))
            timeline.append((evalEnd + 0.05, r, .barrierExit(n: 2)))
        }
        for r in lostRanks where !silentRanks.contains(r) { timeline.append((stepTime(r, evaluation + 2) + 1.5, -2 - r, .lost(reason: "connection closed"))) }
        for r in failedRanks where !silentRanks.contains(r) {
            timeline.append((stepTime(r, evaluation + 3) + 0.01, r, .log(level: .error, msg: "CUDA error: out of memory")))
            timeline.append((stepTime(r, evaluation + 3) + 0.02, r, .bye(code: 1, error: "CUDA error: out of memory")))
        }
        // The last checkpoint barrier stays open: the slow rank is still computing.
        let waiting = alive.filter { !lostRanks.contains($0) && !failedRanks.contains($0) && $0 != slowRank }
        for r in waiting {
            let entered = stepTime(r, steps) + 0.002
            timeline.append((entered, r, .barrierEnter(BarrierEnter(n: 3, name: "checkpoint", site: "train.py:88"))))
            guard !staleRanks.contains(r) else { continue }
            // Only the latest heartbeat matters to the model; small worlds get the whole series.
            var beat = world > 64 ? lastTs - 2 + Double(r % 20) * 0.1 : entered + 2
            while beat < lastTs { timeline.append((beat, r, .heartbeat)); beat += 2 }
        }
        var beat = world > 64 ? lastTs - 1.5 : stepTime(slowRank, steps - 2) + 2
        while beat < lastTs { timeline.append((beat, slowRank, .heartbeat)); beat += 2 }
        timeline.append((lastTs - 3, -1, .inject(Injection(id: "inj-2", reason: "user stop", by: "bob@laptop"))))

        timeline.sort { $0.ts < $1.ts }
        for entry in timeline {
            // A collector's `lost` carries the lost rank; encoded above as -2 - rank to sort it in.
            if entry.rank <= -2 {
                let rank = -2 - entry.rank
                out.append(Event(rank: rank, ts: entry.ts, seq: nil, entry.body))
            } else {
                emit(entry.rank, entry.ts, entry.body)
            }
        }
        return out
    }
}
