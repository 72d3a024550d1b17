import RanktopProtocol

extension DistributedState {
    /// Blocks until every rank has reached this barrier (Accelerate's `wait_for_everyone`).
    /// Reports `barrier.enter` with this rank's barrier ordinal, the name, the call site and the
    /// enclosing main-first phase, then `barrier.exit`.
    public func waitForEveryone(name: String? = nil, fileID: String = #fileID, line: Int = #line) throws(RendezvousError) {
        try barrier(name: name, site: DistributedState.site(fileID, line))
    }

    /// Runs `body` on the main process first, then on the others (Accelerate's
    /// `main_process_first`): the others wait before the block, the main process after it, so
    /// every rank makes exactly one barrier call. Typical use: download or preprocess once, then
    /// let the others read the cache.
    public func mainProcessFirst<T>(
        name: String, fileID: String = #fileID, line: Int = #line, _ body: () throws -> T
    ) throws -> T {
        try goesFirst(name: name, mode: .mainFirst, isMain: isMainProcess, site: DistributedState.site(fileID, line), body)
    }

    /// As `mainProcessFirst`, with the local main process of each node going first (Accelerate's
    /// `local_main_process_first`; the barrier is still global, as there).
    public func localMainProcessFirst<T>(
        name: String, fileID: String = #fileID, line: Int = #line, _ body: () throws -> T
    ) throws -> T {
        try goesFirst(name: name, mode: .localMainFirst, isMain: isLocalMainProcess, site: DistributedState.site(fileID, line), body)
    }

    private func goesFirst<T>(name: String, mode: PhaseMode, isMain: Bool, site: String, _ body: () throws -> T) throws -> T {
        let function: StaticString = mode == .mainFirst ? "mainProcessFirst" : "localMainProcessFirst"
        emit(.phaseEnter(PhaseEnter(name: name, mode: mode, main: isMain)))
        counters.withLockedValue { $0.phases.append(name) }
        activity.push(.primitive(function: function, name: name, ordinal: nil, site: site))
        defer {
            activity.pop()
            counters.withLockedValue { _ = $0.phases.popLast() }
        }
        if !isMain { try barrier(name: name, site: site) }
        let result = try body()
        if isMain { try barrier(name: name, site: site) }
        emit(.phaseExit(name: name))
        return result
    }

    private func barrier(name: String?, site: String) throws(RendezvousError) {
        let (n, phase) = counters.withLockedValue { counters in
            defer { counters.barriers += 1 }
            return (counters.barriers, counters.phases.last)
        }
        emit(.barrierEnter(BarrierEnter(n: n, name: name, site: site, phase: phase)))
        activity.push(.primitive(function: "waitForEveryone", name: name, ordinal: nil, site: site), showsWait: true)
        defer { activity.pop() }
        if let rendezvous {
            let what = "barrier \(n)" + (name.map { " '\($0)'" } ?? "") + " at \(site)"
            _ = try rendezvous.reduceMax(key: "barrier/\(n)", value: 0, ids: [], timeout: options.collectiveTimeout, what: what)
        }
        emit(.barrierExit(n: n))
    }
}
