#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials

/// The two clocks of the app loop. `wall` paces frames and times footer messages; `run` is the
/// run's own time, which a replay keeps in the log's past.
public protocol DashboardClock: AnyObject {
    var wall: Double { get }
    var run: Double { get }
}

/// The system's wall clock, with the run's time from `run` (the wall clock for a live run).
public final class SystemDashboardClock: DashboardClock {
    private let runClock: @Sendable () -> Double

    public init(run: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        runClock = run
    }

    public var wall: Double { Date().timeIntervalSince1970 }
    public var run: Double { runClock() }
}

/// A clock that moves only when told: tests drive the app loop through time without sleeping.
/// The run's time is the wall time plus `runOffset`.
public final class VirtualClock: DashboardClock {
    public private(set) var wall: Double
    public var runOffset: Double

    public init(wall: Double, runOffset: Double = 0) {
        self.wall = wall
        self.runOffset = runOffset
    }

    public var run: Double { wall + runOffset }

    public func advance(by seconds: Double) {
        wall += max(0, seconds)
    }
}
