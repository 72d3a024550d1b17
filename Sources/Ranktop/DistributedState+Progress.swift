import RanktopProtocol

extension DistributedState {
    /// Reports training progress: `progress(step: 120, total: 1000, metrics: ["loss": 1.9, "lr": 3e-4])`.
    /// Only reports; never waits for other ranks.
    public func progress(step: Int, total: Int? = nil, epoch: Double? = nil, metrics: KeyValuePairs<String, Double> = [:]) {
        guard emitter != nil else { return }
        emit(.progress(Progress(step: step, total: total, epoch: epoch, metrics: metrics.map { Metric($0.key, $0.value) })))
    }

    /// A message worth showing next to this rank in ranktop.
    public func log(_ message: String, level: LogLevel = .info) {
        emit(.log(level: level, msg: message))
    }
}
