import RanktopProtocol

/// Injections the collector still answers for: each is for one run, waits for that run's ranks
/// for a while, and is withdrawn when it expires or is cancelled. A stale one must never stop a
/// later run that happens to connect to the same `serve`.
struct InjectionBook: Sendable {
    struct Entry: Sendable {
        var id: String
        var line: ControlLine
        /// The run it stops; nil until a first run connects, when nobody was connected at the ask.
        var run: String?
        /// Monotonic deadline: undelivered, it is withdrawn then; delivered, it is still handed to
        /// ranks of its run that reconnect until then.
        var expires: Double
        var delivered: Int
    }

    /// How long a delivered injection is still handed to ranks of its run that reconnect.
    static let deliveredLifetime = 600.0
    static let capacity = 16

    private(set) var entries: [Entry] = []
    private var waiters: [String: [CheckedContinuation<Int, Never>]] = [:]

    mutating func add(_ entry: Entry) {
        entries.append(entry)
        if entries.count > InjectionBook.capacity { entries.removeFirst() }
    }

    /// Entries a new rank of `run` is handed, binding run-less ones to `run`; and the waiters of
    /// those that had reached nobody yet.
    mutating func claim(for run: String, now: Double) -> (lines: [ControlLine], waiters: [CheckedContinuation<Int, Never>]) {
        var lines: [ControlLine] = []
        var woken: [CheckedContinuation<Int, Never>] = []
        for i in entries.indices where entries[i].run == nil || entries[i].run == run {
            entries[i].run = run
            if entries[i].delivered == 0 { entries[i].expires = now + InjectionBook.deliveredLifetime }
            entries[i].delivered += 1
            lines.append(entries[i].line)
            woken += waiters.removeValue(forKey: entries[i].id) ?? []
        }
        return (lines, woken)
    }

    mutating func noteDelivered(id: String, count: Int, now: Double) {
        guard count > 0, let i = entries.firstIndex(where: { $0.id == id }) else { return }
        entries[i].delivered += count
        entries[i].expires = now + InjectionBook.deliveredLifetime
    }

    mutating func wait(for id: String, _ continuation: CheckedContinuation<Int, Never>) -> Bool {
        guard entries.contains(where: { $0.id == id && $0.delivered == 0 }) else { return false }
        waiters[id, default: []].append(continuation)
        return true
    }

    /// Removes `id` (applied by a rank, or cancelled); returns it and its waiters.
    mutating func remove(id: String) -> (entry: Entry?, waiters: [CheckedContinuation<Int, Never>]) {
        guard let i = entries.firstIndex(where: { $0.id == id }) else { return (nil, []) }
        return (entries.remove(at: i), waiters.removeValue(forKey: id) ?? [])
    }

    /// Removes what expired by `now`.
    mutating func expire(now: Double) -> [(entry: Entry, waiters: [CheckedContinuation<Int, Never>])] {
        var gone: [(Entry, [CheckedContinuation<Int, Never>])] = []
        entries.removeAll { entry in
            guard entry.expires <= now else { return false }
            gone.append((entry, waiters.removeValue(forKey: entry.id) ?? []))
            return true
        }
        return gone
    }

    mutating func takeAllWaiters() -> [CheckedContinuation<Int, Never>] {
        defer { waiters = [:] }
        return waiters.values.flatMap { $0 }
    }
}
