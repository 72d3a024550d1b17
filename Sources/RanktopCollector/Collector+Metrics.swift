import RanktopModel
import RanktopProtocol

extension Collector {
    /// On the collector's timer, once a second: the metrics set from a snapshot of the model.
    func updateMetrics() {
        guard let metrics = runMetrics else { return }
        let model = model()
        metrics.update(RunSnapshot(model: model, now: WallClock.now, stallPolicy: configuration.hooks.stallPolicy), model: model)
    }

    /// Where `--metrics` is served, once started (the port resolved when 0 was asked).
    public var metricsURL: String? {
        guard let host = configuration.metrics?.host, let port = state.withLockedValue({ $0.metricsServer?.port }) else { return nil }
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/metrics"
    }
}
