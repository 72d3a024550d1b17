import RanktopProtocol

extension DistributedState {
    /// Raises this rank's trigger flag (Accelerate's `set_trigger`): the next `checkTrigger` is
    /// true on every rank. Typical use: stop early when the loss plateaus on any rank.
    public func setTrigger(reason: String? = nil) {
        counters.withLockedValue { $0.flag = true }
        emit(.triggerSet(TriggerSet(source: .code, reason: reason)))
    }

    /// The collective check (Accelerate's `check_trigger`): true on every rank when any rank set
    /// the flag since the last check, and then the flag is down everywhere. Every rank must call
    /// it at the same points. It first applies triggers injected through ranktop (the early-stop
    /// button), on this thread: each injection id once per run.
    public func checkTrigger(fileID: String = #fileID, line: Int = #line) throws(RendezvousError) -> Bool {
        let injections = inbox.takeUnapplied()
        for injection in injections {
            counters.withLockedValue { $0.flag = true }
            emit(.triggerSet(TriggerSet(source: .manual, reason: injection.reason, id: injection.id)))
        }
        let (n, flag, collective) = counters.withLockedValue { counters in
            defer {
                counters.checks += 1
                if rendezvous != nil { counters.worldCollectives += 1 }
            }
            return (counters.checks, counters.flag, counters.worldCollectives)
        }
        let site = DistributedState.site(fileID, line)
        var fired = flag
        if let rendezvous {
            activity.push(.primitive(function: "checkTrigger", name: nil, ordinal: n, site: site), showsWait: true)
            defer { activity.pop() }
            // The check is an all-reduce of the world: reported as one, so a rank that never
            // comes shows as missing from it (as Accelerate's check_trigger does).
            emit(.collectiveEnter(CollectiveEnter(
                group: "world", n: collective, op: "all_reduce", size: worldSize, site: site, label: "check_trigger"
            )))
            let result = try rendezvous.reduceMax(
                key: "trigger/\(n)", value: flag ? 1 : 0, ids: injections.map(\.id), timeout: options.collectiveTimeout,
                what: "trigger check \(n) at \(site)")
            emit(.collectiveExit(CollectiveExit(group: "world", n: collective, op: "all_reduce")))
            fired = result.value > 0
            inbox.markApplied(result.ids)
        }
        if fired { counters.withLockedValue { $0.flag = false } }
        emit(.triggerCheck(n: n, fired: fired))
        return fired
    }
}
