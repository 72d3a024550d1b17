import RanktopProtocol

extension RunModel {
    mutating func applyPhaseEnter(_ enter: PhaseEnter, to info: inout RankInfo, ts: Double) {
        let occurrence = info.phaseCounts[enter.name, default: 0]
        info.phaseCounts[enter.name] = occurrence + 1
        let key = PhaseKey(name: enter.name, occurrence: occurrence, generation: generation)
        let index: Int
        if let existing = phaseIndex[key] {
            index = existing
            phases[index].firstEnter = min(phases[index].firstEnter, ts)
        } else {
            index = phases.count
            phases.append(PhaseInstance(name: enter.name, mode: enter.mode, occurrence: occurrence, firstEnter: ts))
            phaseIndex[key] = index
        }
        phases[index].enteredCount += 1
        if enter.main { phases[index].mainRanks += 1 }
        info.phase = RankPhase(
            name: enter.name, mode: enter.mode, main: enter.main, since: ts,
            part: enter.main ? .main : .waitingForMain, partSince: ts, occurrence: occurrence
        )
    }

    mutating func applyPhaseExit(_ name: String, to info: inout RankInfo, ts: Double) {
        guard let phase = info.phase, phase.name == name else { return }
        info.phase = nil
        guard let index = phaseIndex[PhaseKey(name: name, occurrence: phase.occurrence, generation: generation)] else { return }
        if phase.main {
            // Without a barrier inside (a world of one, or a dropped enter) the whole block was
            // the main part.
            if phase.barrierN == nil { phases[index].recordMain(ts - phase.since) }
        } else if phase.part == .others {
            phases[index].recordOthers(ts - phase.partSince)
        }
        phases[index].exitedCount += 1
        phases[index].lastExit = max(phases[index].lastExit ?? ts, ts)
        if phases.count > limits.phases + 64 { foldOldPhases() }
    }

    /// The main rank's part of a phase ends where it enters the phase's barrier.
    mutating func notePhaseBarrier(_ n: Int, rank info: inout RankInfo, ts: Double) {
        guard var phase = info.phase, phase.barrierN == nil else { return }
        phase.barrierN = n
        if phase.main {
            if let index = phaseIndex[PhaseKey(name: phase.name, occurrence: phase.occurrence, generation: generation)] {
                phases[index].recordMain(ts - phase.since)
            }
            phase.part = .mainDone
            phase.partSince = ts
        }
        info.phase = phase
    }

    /// The others' part begins where that barrier lets them go.
    mutating func notePhaseBarrierExit(_ n: Int, rank info: inout RankInfo, ts: Double) {
        guard var phase = info.phase, phase.barrierN == n, !phase.main, phase.part == .waitingForMain else { return }
        phase.part = .others
        phase.partSince = ts
        info.phase = phase
    }

    /// Keeps the newest phases; completed old ones are counted, not kept.
    private mutating func foldOldPhases() {
        var kept: [PhaseInstance] = []
        var toDrop = phases.count - limits.phases
        for phase in phases {
            if toDrop > 0, phase.isComplete {
                toDrop -= 1
                phasesFolded += 1
            } else {
                kept.append(phase)
            }
        }
        phases = kept
        phaseIndex = [:]
        for (i, phase) in phases.enumerated() where !phase.isComplete {
            phaseIndex[PhaseKey(name: phase.name, occurrence: phase.occurrence, generation: generation)] = i
        }
    }
}
