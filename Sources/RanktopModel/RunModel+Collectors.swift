import RanktopProtocol

/// One collector's time writing the log: from its `collector` start record to its clean end, or
/// to its death (the next start with no end before it, or the end of the log).
public struct CollectorSession: Sendable, Equatable {
    public var pid: Int
    public var node: String
    public var startedAt: Double
    /// Its clean end; nil while it runs, or when it died.
    public var endedAt: Double?
    /// Set when a later collector started without this one having ended: it died, and the log's
    /// newest event before the next start is the last thing it wrote.
    public var diedAt: Double?
    /// The ranks neither ended nor lost when it died: the ones that were still running.
    public var runningAtDeath: RankSet?

    public var ended: Bool { endedAt != nil }
}

extension RunModel {
    /// A collector's start or clean end. A start while the previous session never ended is that
    /// collector's death, which only a later reader can see: the dead one wrote nothing more.
    /// `lastTsBefore`: the newest timestamp folded before this record.
    mutating func applyCollectorRecord(_ record: CollectorRecord, ts: Double, lastTsBefore: Double?) {
        switch record.state {
        case .start:
            if let last = collectorSessions.indices.last, collectorSessions[last].endedAt == nil {
                collectorSessions[last].diedAt = lastTsBefore.map { min($0, ts) } ?? ts
                collectorSessions[last].runningAtDeath = runningRanks
            }
            collectorSessions.append(CollectorSession(pid: record.pid, node: record.node, startedAt: ts))
            if collectorSessions.count > 64 { collectorSessions.removeFirst() }
        case .end:
            // Only the session of the same process ends: an end from another collector (two
            // serving one log) leaves the current one as it is.
            if let last = collectorSessions.indices.last, collectorSessions[last].pid == record.pid,
               collectorSessions[last].node == record.node {
                collectorSessions[last].endedAt = ts
            }
        }
    }

    /// Ranks heard from that have neither ended nor been lost.
    public var runningRanks: RankSet {
        RankSet(rankSlots.indices.filter { rankSlots[$0].map { !$0.status.isTerminal } ?? false })
    }
}
