import RanktopModel
import RanktopProtocol

extension Collector {
    /// Automatic stack capture, on the collector's timer: asks each rank the model's policy
    /// names (`RunSnapshot.stackCandidates`) for its stack, once per (run, rank, episode), so the
    /// log holds where the culprit was even if nobody watched. The answers are `stack` events like
    /// any other; their ids start with `stk-auto-`. A candidate that is not connected is not
    /// noted, so it is asked if it connects while the episode lasts; a restarted rank (a new
    /// process) is asked again.
    func captureStacks() {
        stackCaptureChecks.wrappingIncrement(ordering: .relaxed)
        let model = model()
        // Nothing heard, nothing to ask. Otherwise a snapshot a second: stalls are only seen in one.
        guard model.eventCount > 0 else { return }
        let candidates = RunSnapshot(model: model, now: WallClock.now).stackCandidates(waitOpenFor: configuration.stackAfter)
        guard !candidates.isEmpty else { return }
        let targets: [any RankControl] = state.withLockedValue { state in
            guard !state.stopping, let run = state.newestConnectedRun else { return [] }
            return candidates.compactMap { candidate in
                guard let connection = state.current[RankKey(run: run, rank: candidate.rank)],
                      let live = state.live[connection],
                      state.stackCaptures.insert(StackCaptureBook.Key(run: run, rank: candidate.rank, pid: live.pid, episode: candidate.episode))
                else { return nil }
                return live.control
            }
        }
        guard !targets.isEmpty else { return }
        stackCaptureRequests.wrappingIncrement(by: targets.count, ordering: .relaxed)
        for target in targets { target.post(.stackRequest(id: "stk-auto-" + Collector.randomHex(8))) }
    }
}
