/// Events per second over the last couple of seconds, from (time, event count) samples.
public struct EventRate: Sendable {
    private var samples: [(time: Double, count: Int)] = []
    public let window: Double

    public init(window: Double = 2) {
        self.window = window
    }

    public mutating func record(count: Int, at time: Double) {
        if let last = samples.last, time - last.time < 0.05 {
            samples[samples.count - 1] = (last.time, count)
        } else {
            samples.append((time, count))
        }
        while samples.count > 2, time - samples[1].time >= window { samples.removeFirst() }
    }

    public var perSecond: Double {
        guard let first = samples.first, let last = samples.last, last.time - first.time >= 0.2 else { return 0 }
        return Double(last.count - first.count) / (last.time - first.time)
    }
}
