import Atomics
import RanktopModel
import RanktopProtocol

extension Collector {
    /// On the collector's timer, once a second: the episodes that begin now (`RunAlerts`) run
    /// their hook, once each.
    func fireHooks() {
        let model = model()
        guard model.eventCount > 0 else { return }
        let hooks = configuration.hooks
        let snapshot = RunSnapshot(model: model, now: WallClock.now, stallPolicy: hooks.stallPolicy)
        let alerts = state.withLockedValue { $0.alerts.update(snapshot, model: model) }
        for alert in alerts {
            guard let command = hooks.command(for: alert.kind) else { continue }
            hookRuns.wrappingIncrement(ordering: .relaxed)
            activeHooks.wrappingIncrement(ordering: .relaxed)
            let active = activeHooks
            HookRunner.run(command, alert: alert, run: model.run, log: configuration.logPath, timeout: hooks.timeout, warn: configuration.warn) {
                active.wrappingDecrement(ordering: .relaxed)
            }
        }
    }

    /// At stop: the episodes the last events began (the run's end, most often) get their hooks
    /// too, and every hook still running is waited for, up to its timeout.
    func finishHooks() async {
        guard !configuration.hooks.isEmpty else { return }
        // A follower of the log may be a read behind: let it take the last bytes.
        await modelFollower?.finish()
        fireHooks()
        let deadline = MonotonicClock.now + configuration.hooks.timeout + 1
        while activeHooks.load(ordering: .relaxed) > 0, MonotonicClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
