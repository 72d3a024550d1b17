import RanktopProtocol

extension Collector {
    /// Outcome of an injection request.
    public struct InjectionResult: Sendable, Equatable {
        public var id: String
        /// Ranks it was handed to; 0 when it expired (withdrawn) or the collector stopped first.
        public var ranks: Int
        /// The run it is for, once known.
        public var run: String?
    }

    /// Logs an `inject` event, then hands the control line to every connected rank of `run`
    /// (default: the newest run with ranks connected). When none is connected it waits up to
    /// `ttl` seconds for a first rank, then withdraws the injection.
    public func inject(reason: String?, by: String?, run requestedRun: String? = nil, ttl: Double = 30) async -> InjectionResult {
        let id = "inj-" + Collector.randomHex(8)
        let line = ControlLine.inject(id: id, reason: reason)
        let now = MonotonicClock.now
        let (run, targets): (String?, [any RankControl]) = state.withLockedValue { state in
            let run = requestedRun ?? state.newestConnectedRun
            let targets = run.map { state.controls(of: $0) } ?? []
            let expires = now + (targets.isEmpty ? ttl : max(ttl, InjectionBook.deliveredLifetime))
            state.injections.add(InjectionBook.Entry(id: id, line: line, run: run, expires: expires, delivered: 0))
            return (run, targets)
        }
        log.append(Event(rank: -1, ts: WallClock.now, .inject(Injection(id: id, reason: reason, by: by))))
        // A user's action is on disk before the ranks act on it.
        log.flush()
        let delivered = await Collector.send(line, to: targets)
        if delivered > 0 {
            state.withLockedValue { $0.injections.noteDelivered(id: id, count: delivered, now: MonotonicClock.now) }
            return InjectionResult(id: id, ranks: delivered, run: run)
        }
        let later = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            let waiting = state.withLockedValue { state in
                !state.stopping && state.injections.wait(for: id, continuation)
            }
            if !waiting {
                // Claimed by a rank between the send and now, or stopping: say which.
                let claimed = state.withLockedValue { state in state.injections.entries.first { $0.id == id }?.delivered ?? 0 }
                continuation.resume(returning: claimed)
            }
        }
        let boundRun = state.withLockedValue { state in state.injections.entries.first { $0.id == id }?.run } ?? run
        return InjectionResult(id: id, ranks: later, run: boundRun)
    }

    /// Withdraws an injection that is still pending. Returns how many ranks had already been
    /// handed it (they may still apply it at their next check), or nil when no such injection is
    /// pending (unknown, applied, expired).
    public func cancelInjection(id: String, by: String?) -> Int? {
        let (entry, waiters) = state.withLockedValue { $0.injections.remove(id: id) }
        guard let entry else { return nil }
        for waiter in waiters { waiter.resume(returning: 0) }
        log.append(Event(rank: -1, ts: WallClock.now, .log(level: .warning, msg: "injection \(id) cancelled by \(by ?? "unknown")")))
        log.flush()
        return entry.delivered
    }

    /// Asks `rank` (of `run`, default the newest connected run) for its training thread's stack;
    /// the answer arrives as a `stack` event.
    public func requestStack(rank: Int, run requestedRun: String? = nil) async throws -> String {
        let target = state.withLockedValue { state -> (any RankControl)? in
            guard let run = requestedRun ?? state.newestConnectedRun,
                  let connection = state.current[RankKey(run: run, rank: rank)] else { return nil }
            return state.live[connection]?.control
        }
        guard let target else { throw TransportError("rank \(rank) is not connected") }
        let id = "stk-" + Collector.randomHex(8)
        try await target.send(.stackRequest(id: id))
        return id
    }

    /// Serves a control or viewer request that arrived on a connection from `peer`. The `by` of
    /// an injection comes from the peer's credentials where there are any; otherwise it is what
    /// the client claims, marked as claimed.
    public func reply(to request: ConnectionRequest, from peer: PeerIdentity) async -> ConnectionReply {
        if case let .malformed(kind, reason) = request {
            return .failure("a malformed '\(kind)' request: \(reason)", code: "bad-request")
        }
        guard admits(peer, token: request.token) else {
            await refuseToken(from: peer, presented: request.token != nil)
            return .failure(request.token == nil ? "this collector requires a token" : "wrong token", code: "token")
        }
        if state.withLockedValue({ $0.stopping }) { return .failure("the collector is stopping", code: "stopping") }
        switch request {
        case .viewer:
            return ConnectionReply(kind: "viewer.ok", v: 1, run: runID, log: logPath)
        case let .inject(reason, claimed, _, run, ttl):
            let allowed = state.withLockedValue { $0.guards.allowInjection(now: MonotonicClock.now) }
            guard allowed else {
                warnOnce(key: "inject-rate", "injection requests from \(peer) are arriving faster than one a second; refusing the excess")
                return .failure("too many injection requests; try again in a second", code: "rate-limited")
            }
            let by = peer.verifiedUser ?? claimed.map { "\($0) (claimed)" } ?? "unknown (\(peer))"
            let result = await inject(reason: reason, by: by, run: run, ttl: ttl ?? 30)
            if result.ranks == 0 {
                let stopping = state.withLockedValue { $0.stopping }
                if stopping { return .failure("the collector stopped before any rank got injection \(result.id)", code: "stopping") }
                return .failure("no rank took injection \(result.id) in time; it was withdrawn", code: "expired")
            }
            return ConnectionReply(kind: "inject.ok", run: result.run, id: result.id, ranks: result.ranks)
        case let .cancelInjection(id, _):
            let by = peer.verifiedUser ?? "\(peer)"
            guard let delivered = cancelInjection(id: id, by: by) else {
                return .failure("no pending injection \(id) (already applied, expired or unknown)", code: "no-injection")
            }
            return ConnectionReply(kind: "inject.cancelled", id: id, ranks: delivered)
        case let .stack(rank, _):
            do {
                let id = try await requestStack(rank: rank)
                return ConnectionReply(kind: "stack.ok", id: id, rank: rank)
            } catch {
                return .failure("\(error)", code: "no-rank")
            }
        case .malformed:
            return .failure("a malformed request", code: "bad-request")
        }
    }

    /// A wrong or missing token: logged (the first few, then a count), and answered only after a
    /// delay that grows with recent failures, so guessing is slow and never silent.
    func refuseToken(from peer: PeerIdentity, presented: Bool) async {
        let delay = noteTokenRefusal(from: peer, presented: presented)
        try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
    }

    /// The accounting and the log line of a refusal; returns how long to wait before answering.
    func noteTokenRefusal(from peer: PeerIdentity, presented: Bool) -> Double {
        let (delay, shouldLog, total) = state.withLockedValue { state in
            let (delay, log) = state.guards.tokenFailed(now: MonotonicClock.now)
            return (delay, log, state.guards.tokenFailures)
        }
        if shouldLog {
            let what = presented ? "a wrong token" : "no token"
            log.append(Event(rank: -1, ts: WallClock.now, .log(level: .warning, msg: "collector refused \(peer): \(what) (\(total) refused so far)")))
        }
        warnOnce(key: "token", "a connection from \(peer) was refused: \(presented ? "wrong token" : "no token"); ranks need RANKTOP_TOKEN, viewers --token")
        return delay
    }

    /// Withdraws injections that expired; called every second.
    func expireInjections() {
        let gone = state.withLockedValue { $0.injections.expire(now: MonotonicClock.now) }
        for (entry, waiters) in gone {
            for waiter in waiters { waiter.resume(returning: 0) }
            if entry.delivered == 0 {
                log.append(Event(rank: -1, ts: WallClock.now, .log(level: .warning, msg: "injection \(entry.id) withdrawn: no rank took it in time")))
            }
        }
    }

    static func send(_ line: ControlLine, to targets: [any RankControl]) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for target in targets {
                group.addTask {
                    do { try await target.send(line); return true } catch { return false }
                }
            }
            var delivered = 0
            for await ok in group where ok { delivered += 1 }
            return delivered
        }
    }
}

extension Collector.State {
    /// The run whose ranks said hello most recently, among runs with a rank connected.
    var newestConnectedRun: String? {
        let connected = Set(current.keys.map(\.run))
        return connected.max { (runSeen[$0] ?? 0) < (runSeen[$1] ?? 0) }
    }

    /// The connection of each rank of `run` that speaks for it now.
    func controls(of run: String) -> [any RankControl] {
        current.compactMap { key, connection in key.run == run ? live[connection]?.control : nil }
    }
}
