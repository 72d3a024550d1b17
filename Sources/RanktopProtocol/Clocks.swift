#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Seconds on a clock that never jumps, for deadlines and backoff.
public enum MonotonicClock {
    public static var now: Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// Wall-clock seconds since the Unix epoch, the protocol's `ts`.
public enum WallClock {
    @inline(__always)
    public static var now: Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// The same clock in whole microseconds, the resolution of the protocol's `ts` text: an
    /// emitter that formats `ts` itself starts from the integer, not from a `Double` it would
    /// scale and round back.
    @inline(__always)
    public static var microseconds: Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return spec.tv_sec &* 1_000_000 &+ spec.tv_nsec / 1000
    }
}
