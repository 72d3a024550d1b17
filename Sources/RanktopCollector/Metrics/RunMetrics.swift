import NIOConcurrencyHelpers
import Prometheus
import RanktopModel
import RanktopProtocol

/// The run as Prometheus metrics, through swift-prometheus's registry: set from a snapshot of
/// the live model once a second (`update`), read by every scrape (`text`). Per rank: step,
/// condition, stalled, seconds in the current wait, dropped events; per run: how long it has
/// stalled, open waits, events/s, trigger firings, events. docs/alerts.md lists them.
final class RunMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let ranks = NIOLockedValueBox<[Int: RankGauges]>([:])
    private let stallSeconds: Gauge
    private let openWaits: Gauge
    private let eventsPerSecond: Gauge
    private let firings: Gauge
    private let events: Gauge
    private let conditions: [RankCondition: Gauge]

    /// Ranks with their own series, at most: a 100k-rank world must not make a scrape of
    /// megabytes (the per-condition counts still cover every rank).
    static let rankLimit = 8192

    struct RankGauges: Sendable {
        var step: Gauge
        var condition: Gauge
        var stalled: Gauge
        var waitSeconds: Gauge
        var dropped: Gauge
    }

    init() {
        let registry = registry
        func gauge(_ name: String, _ help: String) -> Gauge { RunMetrics.gauge(in: registry, name, labels: [], help) }
        stallSeconds = gauge("stall_seconds", "Seconds since the last rank moved on, while no rank progresses; 0 otherwise.")
        openWaits = gauge("open_waits", "Barriers and collectives open that held ranks up for at least a second.")
        eventsPerSecond = gauge("events_per_second", "Events a second, by their timestamps, over the last two whole seconds.")
        firings = gauge("trigger_firings", "Trigger firings seen (set_trigger/check_trigger or an injection).")
        events = gauge("events", "Events taken so far.")
        var byCondition: [RankCondition: Gauge] = [:]
        for condition in RankCondition.allCases {
            byCondition[condition] = RunMetrics.gauge(in: registry, "ranks", labels: [("condition", condition.label)], "Ranks in each condition.")
        }
        conditions = byCondition
    }

    /// A gauge named `ranktop_<name>`.
    static func gauge(in registry: PrometheusCollectorRegistry, _ name: String, labels: [(String, String)], _ help: String) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "ranktop", metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// The code `ranktop_rank_condition` gives each condition.
    static func code(_ condition: RankCondition) -> Double { Double(RankCondition.allCases.firstIndex(of: condition) ?? 0) }

    func update(_ snapshot: RunSnapshot, model: RunModel) {
        let now = snapshot.now
        stallSeconds.set(snapshot.stall.map { max(0, now - $0.since) } ?? 0)
        openWaits.set(Double(snapshot.openWaits.count + snapshot.heldCollectives.count))
        eventsPerSecond.set(model.eventsPerSecond(at: now))
        firings.set(Double(model.firings.count + model.firingsFolded))
        events.set(Double(model.eventCount))
        for condition in RankCondition.allCases { conditions[condition]?.set(Double(snapshot.count(condition))) }
        let shown = min(snapshot.world, RunMetrics.rankLimit)
        ranks.withLockedValue { gauges in
            for rank in 0..<shown {
                let g = gauges[rank] ?? makeGauges(rank)
                gauges[rank] = g
                g.step.set(Double(snapshot.steps[rank] ?? 0))
                g.condition.set(RunMetrics.code(snapshot.condition(of: rank)))
                g.stalled.set(snapshot.isStalled(rank) ? 1.0 : 0.0)
                g.dropped.set(Double(rank < model.rankSlots.count ? model.rankSlots[rank]?.dropped ?? 0 : 0))
                g.waitSeconds.set(waitSeconds(rank, model: model, now: now))
            }
        }
    }

    private func makeGauges(_ rank: Int) -> RankGauges {
        let labels = [("rank", "\(rank)")]
        func gauge(_ name: String, _ help: String) -> Gauge { RunMetrics.gauge(in: registry, name, labels: labels, help) }
        let codes = RankCondition.allCases.map { "\(Int(RunMetrics.code($0)))=\($0.label)" }.joined(separator: ", ")
        return RankGauges(
            step: gauge("rank_step", "The rank's last reported step."),
            condition: gauge("rank_condition", "The rank's condition: \(codes)."),
            stalled: gauge("rank_stalled", "1 while the rank is alive but not progressing."),
            waitSeconds: gauge("rank_wait_seconds", "Seconds the rank has been in its current barrier or blocking collective; 0 when in none."),
            dropped: gauge("rank_dropped_events", "Events of the rank that never reached the collector.")
        )
    }

    private func waitSeconds(_ rank: Int, model: RunModel, now: Double) -> Double {
        guard rank < model.rankSlots.count, let slot = model.rankSlots[rank], !slot.status.isTerminal else { return 0 }
        if let barrier = slot.barrier { return max(0, now - barrier.since) }
        if let collective = slot.currentCollective, !collective.isAsync { return max(0, now - collective.since) }
        return 0
    }

    /// The text a scrape gets.
    func text() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
