import RanktopProtocol

extension Collector {
    struct Registration {
        /// The `seq` a reconnecting process continues from.
        var resumeSeq: Int?
        var injections: [ControlLine] = []
    }

    /// A rank's connection said hello: it becomes the one that speaks for (run, rank); earlier
    /// live connections of the same rank stay open and speak again if it goes.
    func registerRank(_ stream: RankStream, hello: Hello, rank: Int) -> Registration {
        let key = RankKey(run: hello.run, rank: rank)
        let process = ProcessKey(run: hello.run, rank: rank, pid: hello.pid)
        let (registration, replaced, waiters) = state.withLockedValue { state in
            var registration = Registration()
            registration.resumeSeq = state.ledger[process]
            let previous = state.current[key].flatMap { state.live[$0] }
            state.live[stream.connectionID] = LiveRank(connectionID: stream.connectionID, control: stream.control, key: key, pid: hello.pid)
            state.current[key] = stream.connectionID
            state.nextConnectionOrder += 1
            state.runSeen[hello.run] = state.nextConnectionOrder
            let (lines, waiters) = state.injections.claim(for: hello.run, now: MonotonicClock.now)
            registration.injections = lines
            return (registration, previous, waiters)
        }
        // The same process reconnected while its old connection looked open (a half-open TCP
        // connection): that one is dead. Another process claiming the rank is left alone.
        if let replaced, replaced.pid == hello.pid, replaced.connectionID != stream.connectionID {
            replaced.control.disconnect()
        }
        for waiter in waiters { waiter.resume(returning: 1) }
        return registration
    }

    /// A rank's connection ended. Writes `lost` when it spoke for its rank, said no `bye`, no
    /// other connection of that rank is left, and the collector is not stopping; `unreachable`
    /// instead of `lost` when the rank may be fine but its relay is gone.
    func rankStreamEnded(_ stream: RankStream, reason: String?, unreachable: String? = nil) {
        guard let rank = stream.rank, let run = stream.run else { return }
        let key = RankKey(run: run, rank: rank)
        let writeLost = state.withLockedValue { state -> Bool in
            if let pid = stream.pid, let next = stream.nextSeq { state.ledger[ProcessKey(run: run, rank: rank, pid: pid)] = next }
            guard state.live.removeValue(forKey: stream.connectionID) != nil else { return false }
            guard state.current[key] == stream.connectionID else { return false }
            // The newest other live connection of the rank speaks for it again.
            let others = state.live.values.filter { $0.key == key }.map(\.connectionID)
            state.current[key] = others.max()
            return others.isEmpty && !state.stopping && !stream.saidBye && (reason != nil || unreachable != nil)
        }
        if writeLost, let reason {
            log.append(Event(rank: rank, ts: WallClock.now, .lost(reason: reason)))
        } else if writeLost, let unreachable {
            log.append(Event(rank: rank, ts: WallClock.now, .unreachable(reason: unreachable)))
        }
    }

    /// A rank applied an injection (its `trigger.set` names it): nobody else needs it handed.
    func injectionApplied(id: String) {
        let waiters = state.withLockedValue { $0.injections.remove(id: id).waiters }
        for waiter in waiters { waiter.resume(returning: 1) }
    }

    /// Whether a new connection may wait to identify itself (the cap on unidentified connections).
    func admitUnidentifiedConnection() -> Bool {
        state.withLockedValue { $0.guards.admitUnidentified() }
    }

    /// A connection that was counted as unidentified said who it is, or closed.
    func unidentifiedConnectionSettled() {
        state.withLockedValue { $0.guards.identifiedOrClosed() }
    }
}
