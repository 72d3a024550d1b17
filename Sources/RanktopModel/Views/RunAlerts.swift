import RanktopProtocol

/// Something an unattended run's owner should hear about: a stall began, ranks failed, the run
/// ended. Raised once per episode by `RunAlerts`.
public struct RunAlert: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case stall, failure, end
    }

    public var kind: Kind
    public var at: Double
    /// The diagnosis's first line at that moment: what a page should say.
    public var diagnosis: String
    /// The ranks it is about: stalled, failed or lost, or every rank at the end.
    public var ranks: RankSet

    public init(kind: Kind, at: Double, diagnosis: String, ranks: RankSet) {
        self.kind = kind
        self.at = at
        self.diagnosis = diagnosis
        self.ranks = ranks
    }
}

/// Episodes of a run, judged on each snapshot the collector takes (once a second): a stall is
/// one episode from the moment a rank counts as stalled (`StallPolicy`, as everywhere) until no
/// rank does; each rank process that fails or is lost is one; the run's end (every rank ended)
/// is one. `update` returns the alerts that begin with this snapshot, so a hook runs once per
/// episode however long it lasts.
public struct RunAlerts: Sendable {
    private var stalling = false
    /// Ranks already reported failed or lost, with their restart count (a restarted rank that
    /// fails again is a new episode).
    private var failed: [Int: Int] = [:]
    private var ended = false

    public init() {}

    public mutating func update(_ snapshot: RunSnapshot, model: RunModel) -> [RunAlert] {
        var alerts: [RunAlert] = []
        lazy var diagnosis = snapshot.diagnosis.first ?? "no diagnosis"
        if !snapshot.stalled.isEmpty, !stalling {
            alerts.append(RunAlert(kind: .stall, at: snapshot.now, diagnosis: diagnosis, ranks: snapshot.stalled))
        }
        stalling = !snapshot.stalled.isEmpty
        var newlyFailed: [Int] = []
        for rank in 0..<snapshot.world {
            let condition = snapshot.condition(of: rank)
            guard condition == .failed || condition == .lost else { continue }
            let restarts = model.rank(rank)?.restarts ?? 0
            if failed[rank] != restarts {
                failed[rank] = restarts
                newlyFailed.append(rank)
            }
        }
        if !newlyFailed.isEmpty {
            alerts.append(RunAlert(kind: .failure, at: snapshot.now, diagnosis: diagnosis, ranks: RankSet(newlyFailed)))
        }
        if snapshot.endedAt != nil, !ended {
            ended = true
            alerts.append(RunAlert(kind: .end, at: snapshot.endedAt ?? snapshot.now, diagnosis: diagnosis, ranks: RankSet(0..<snapshot.world)))
        }
        return alerts
    }
}
