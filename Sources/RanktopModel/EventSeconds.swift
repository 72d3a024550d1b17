/// Events counted by the whole second of their timestamp, the last few seconds only: ev/s at a
/// moment is read from the events themselves, not from when a screen happened to see them, so a
/// log replayed at any speed (or followed live) shows the same rate at the same instant.
public struct EventSeconds: Sendable, Equatable {
    static let kept = 4
    // Inline vectors, not arrays: this is on every event's path, and an array's uniqueness
    // check and bounds checks cost more than the count itself.
    private var seconds = SIMD4<Int>(repeating: Int.min)
    private var counts = SIMD4<Int>(repeating: 0)

    public init() {}

    mutating func record(_ ts: Double) {
        guard ts.isFinite, abs(ts) < 1e15 else { return }
        // floor(ts) without a call to libm's floor (baseline x86-64 has no rounding
        // instruction): truncation, one down for a negative non-integer.
        var second = Int(ts)
        if Double(second) > ts { second -= 1 }
        let slot = Int(UInt(bitPattern: second) & 3)
        if seconds[slot] != second {
            // A slot is reused only for a newer second; an event older than the slots is not counted.
            guard second > seconds[slot] else { return }
            seconds[slot] = second
            counts[slot] = 0
        }
        counts[slot] += 1
    }

    /// Events a second over the two whole seconds before the one `now` is in.
    public func perSecond(at now: Double) -> Double {
        guard now.isFinite, abs(now) < 1e15 else { return 0 }
        let current = Int(now.rounded(.down))
        var total = 0
        for slot in 0..<EventSeconds.kept where seconds[slot] == current - 1 || seconds[slot] == current - 2 { total += counts[slot] }
        return Double(total) / 2
    }
}
