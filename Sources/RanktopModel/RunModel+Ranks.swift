import RanktopProtocol

extension RunModel {
    mutating func applyHello(_ hello: Hello, to info: inout RankInfo, seq: Int?) {
        if run == nil { run = hello.run }
        if !otherRuns.contains(hello.run), hello.run != run, otherRuns.count < 16 { otherRuns.append(hello.run) }
        announcedWorld = max(announcedWorld ?? 0, hello.world)
        if let t = hello.timeout, t > 0 { timeout = max(timeout ?? 0, t) }

        // The emitter says hello again after reconnecting to a collector; that is the same
        // process, not a restart.
        let isReconnect = info.saidHello && info.pid == hello.pid && info.restartGeneration == hello.restart
        if info.saidHello && !isReconnect {
            info.restarts += 1
            forgetAttempt(of: &info)
        }
        if !isReconnect { info.nextSeq = (seq ?? 0).saturatingAdd(1) }
        info.collectiveAtEnd = nil
        if info.status.isTerminal {
            info.status = .running
            info.updateWaitingStatus()
        }
        info.saidHello = true
        info.node = hello.node
        info.pid = hello.pid
        info.localRank = hello.localRank
        info.runtime = hello.runtime
        info.caps = hello.caps
        info.restartGeneration = hello.restart
        if let restart = hello.restart, restart > generation {
            generation = restart
            abandonOpenState()
        }
    }

    /// A restarted rank starts its barrier, phase and check ordinals from zero.
    private mutating func forgetAttempt(of info: inout RankInfo) {
        info.status = .running
        info.barrier = nil
        info.phase = nil
        info.phaseCounts = [:]
        info.highestBarrier = -1
        info.lastCheck = -1
        info.exitCode = nil
        info.error = nil
        info.lostReason = nil
        info.lastProgressTs = nil
        info.lastActivityTs = nil
        forgetCollectives(of: &info)
        for n in Array(openBarriers.keys) {
            openBarriers[n]?.forget(rank: info.rank)
        }
    }

    /// A new restart generation: what was open belonged to the attempt that died.
    private mutating func abandonOpenState() {
        openBarriers.removeAll()
        pendingCauses.removeAll()
        collectiveGroups.removeAll()
    }

    mutating func applyProgress(_ progress: Progress, to info: inout RankInfo, ts: Double) {
        RunModel.applyProgressToRank(progress, to: &info, ts: ts)
        // Progress comes from the training thread, so a barrier it was in has ended even if the
        // exit was dropped.
        if let barrier = info.barrier {
            leaveBarrier(barrier.n, rank: &info, ts: nil)
        }
        leaveEveryCollective(rank: &info)
        info.updateWaitingStatus()
    }

    /// A progress event's effect on its rank's own state: all of it for a rank inside no barrier
    /// or collective (see `applyInPlace`).
    static func applyProgressToRank(_ progress: Progress, to info: inout RankInfo, ts: Double) {
        if let last = info.step, let lastTs = info.lastProgressTs, progress.step > last, ts > lastTs {
            let steps = Double(progress.step - last)
            let seconds = ts - lastTs
            let rate = steps / seconds
            // Smoothed so one slow step does not make the ETA jump.
            info.stepRate = info.stepRate.map { 0.7 * $0 + 0.3 * rate } ?? rate
            // Positive and finite (ts > lastTs, steps > 0), so never NaN: the sorted window's
            // median is exactly `StallPolicy.typicalStep(info.recentStepTimes)`.
            let stepTime = seconds / steps
            let evicted = info.recentStepTimes.count == info.recentStepTimes.capacity ? info.recentStepTimes.first : nil
            info.recentStepTimes.append(stepTime)
            info.sortedStepTimes.insert(stepTime, evicting: evicted)
            info.typicalStepTime = info.sortedStepTimes.median
            let busy = max(0, seconds - info.waitedSinceProgress) / steps
            let evictedBusy = info.recentBusyTimes.count == info.recentBusyTimes.capacity ? info.recentBusyTimes.first : nil
            info.recentBusyTimes.append(busy)
            info.sortedBusyTimes.insert(busy, evicting: evictedBusy)
            info.typicalBusyTime = info.sortedBusyTimes.median
        }
        info.waitedSinceProgress = 0
        info.step = progress.step
        if let total = progress.total { info.total = total }
        if let epoch = progress.epoch { info.epoch = epoch }
        info.lastProgressTs = ts
        info.lastActivityTs = max(info.lastActivityTs ?? ts, ts)
        for metric in progress.metrics {
            if let i = info.metrics.firstIndex(where: { $0.name == metric.name }) {
                info.metrics[i].value = metric.value
            } else if info.metrics.count < 64 {
                info.metrics.append(metric)
            }
        }
    }
}
