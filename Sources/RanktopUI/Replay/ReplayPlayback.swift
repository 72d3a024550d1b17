import RanktopModel

/// A replay's pace and what its keys do to the position: play and pause, the speed, seeks,
/// steps, jumps to notable moments. The clock moves by wall time times the speed while playing;
/// "max" folds as fast as the log decodes. With `follow`, the end of the log is live: the clock
/// is the wall clock there and new lines are shown as they are written.
public struct ReplayPlayback: Sendable {
    /// The speeds `+` and `-` step through; the last is "as fast as possible".
    public static let speeds: [Double] = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, .infinity]
    /// At most this many events are folded per turn of the app loop, so keys are answered even
    /// at max speed on a huge log.
    public static let eventsPerTurn = 50_000

    public private(set) var speedIndex: Int
    public private(set) var playing = true
    public let follow: Bool
    /// At the end of a followed log: showing it live.
    public private(set) var live = false
    private var lastWall: Double?

    public init(speed: Double, follow: Bool = false) {
        // --speed 0 is "as fast as possible"; other values snap to the nearest step.
        let wanted = speed <= 0 ? Double.infinity : speed
        speedIndex = ReplayPlayback.speeds.indices.min { abs(ReplayPlayback.speeds[$0] - wanted) < abs(ReplayPlayback.speeds[$1] - wanted) } ?? 2
        if wanted.isInfinite { speedIndex = ReplayPlayback.speeds.count - 1 }
        self.follow = follow
    }

    public var speed: Double { ReplayPlayback.speeds[speedIndex] }

    public var speedLabel: String {
        speed.isInfinite ? "max" : "x" + (speed < 1 ? (speed == 0.25 ? "0.25" : "0.5") : "\(Int(speed))")
    }

    /// One turn of the app loop at wall time `wall`: moves the position as far as the pace says.
    /// Returns true when the position moved (a frame is due).
    public mutating func tick(_ driver: any ReplayDriver, wall: Double) -> Bool {
        defer { lastWall = wall }
        guard playing || live else { return false }
        let before = driver.index
        if live {
            driver.followLive(wall: wall, limit: ReplayPlayback.eventsPerTurn)
            return true
        }
        let from = driver.clock ?? driver.overview.start ?? wall
        let elapsed = max(0, wall - (lastWall ?? wall))
        let target = speed.isInfinite ? Double.infinity : from + elapsed * speed
        let reached = driver.advance(to: target, limit: ReplayPlayback.eventsPerTurn)
        if reached, driver.isAtEnd, target >= (driver.overview.end ?? target) {
            if follow {
                live = true
            } else if driver.overview.complete {
                playing = false
            }
        }
        return driver.index != before || elapsed > 0
    }

    /// Applies a replay key. Returns the footer's word on it, if any.
    public mutating func perform(_ command: ReplayCommand, on driver: any ReplayDriver, wall: Double) -> String? {
        let overview = driver.overview
        let now = driver.clock ?? overview.start ?? 0
        switch command {
        case .playPause:
            if live {
                live = false
                playing = false
                return "paused (the log goes on being read)"
            }
            if !playing, driver.isAtEnd, !follow, overview.complete {
                driver.seek(to: overview.start ?? now)
            }
            playing.toggle()
            lastWall = wall
            return playing ? "playing at \(speedLabel)" : "paused"
        case .faster:
            speedIndex = min(speedIndex + 1, ReplayPlayback.speeds.count - 1)
            return "speed \(speedLabel)"
        case .slower:
            speedIndex = max(speedIndex - 1, 0)
            return "speed \(speedLabel)"
        case .stepForward, .stepBack:
            live = false
            playing = false
            driver.step(by: command == .stepForward ? 1 : -1)
            return "event \(driver.index) of \(overview.events)\(overview.complete ? "" : "+")"
        case let .seek(seconds):
            seek(driver, to: now + seconds, overview: overview)
        case .start:
            seek(driver, to: overview.start ?? now, overview: overview)
        case .end:
            seek(driver, to: overview.end ?? now, overview: overview)
            if follow { live = true }
        case .nextMoment, .previousMoment:
            let forward = command == .nextMoment
            // A jump lands exactly on its moment's time: the one we are on is not the next.
            let target = forward
                ? overview.moments.first { $0.time > now + 1e-6 }
                : overview.moments.last { $0.time < now - 1e-6 }
            guard let target else {
                return forward ? "no notable moment after this one" : "no notable moment before this one"
            }
            live = false
            driver.seek(to: target.time)
            let number = (overview.moments.firstIndex(of: target) ?? 0) + 1
            return "\(number)/\(overview.moments.count) \(target.kind.rawValue): \(target.text)"
        }
        return nil
    }

    private mutating func seek(_ driver: any ReplayDriver, to time: Double, overview: ReplayOverview) {
        live = false
        var time = time
        if let start = overview.start { time = max(time, start) }
        if let end = overview.end { time = min(time, end) }
        driver.seek(to: time)
    }
}
