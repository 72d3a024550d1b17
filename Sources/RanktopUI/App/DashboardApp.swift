import RanktopModel
import RanktopProtocol

/// How a dashboard session ended.
public enum DashboardOutcome: Sendable, Equatable {
    /// The user quit, leaving the run alone (a run that is over, or not the dashboard's).
    case quit
    /// The user quit and confirmed stopping the run the dashboard owns: the caller stops it.
    case quitStoppingRun
    /// SIGINT, SIGTERM or SIGHUP arrived; the terminal is restored.
    case interrupted(signal: Int32)
}

/// The dashboard's app loop: events from the inbox folded into the model, inputs handled, frames
/// drawn on change and at most `maxFramesPerSecond`, the clocks redrawn once a second. No
/// terminal, signal or thread here: a `Screen` waits and draws, a `DashboardClock` tells the
/// time, and what must reach the run goes out through `perform`, whose answers come back as
/// inbox messages. The terminal backend runs it on its own thread; tests step it by hand.
public struct DashboardApp {
    public struct Settings: Sendable {
        public var options: DashboardOptions
        public var maxFramesPerSecond: Double
        /// Said in the header once the source ends.
        public var endedMessage: String
        /// Shown in the footer at start (a theme problem, say).
        public var startupMessage: String?
        public var startupHint: String?

        public init(
            options: DashboardOptions, maxFramesPerSecond: Double = 10, endedMessage: String = "run ended", startupMessage: String? = nil,
            startupHint: String? = nil
        ) {
            self.startupHint = startupHint
            self.options = options
            self.maxFramesPerSecond = maxFramesPerSecond
            self.endedMessage = endedMessage
            self.startupMessage = startupMessage
        }
    }

    /// What the app asks of the run; the backend sends it without blocking the loop.
    public enum Request: Sendable, Equatable {
        case injectTrigger(reason: String?)
        case requestStack(rank: Int)
        case requestStacks(ranks: [Int])
    }

    private let settings: Settings
    private let screen: any Screen
    private let inbox: DashboardInbox
    private let clock: any DashboardClock
    private let perform: (Request) -> Void
    private let frameInterval: Double
    public private(set) var model = RunModel(limits: .live)
    public private(set) var dashboard: Dashboard
    public private(set) var stats = FrameStats()
    private var endedAt: Double?
    /// A replayed log: the app moves its position by the playback's pace and keys.
    private let replay: (any ReplayDriver)?
    public private(set) var playback: ReplayPlayback
    /// Something changed since the last frame.
    public private(set) var needsFrame = true
    private var lastFrame = -Double.infinity
    private var pendingArrival: Double?
    private var pendingTs: Double?
    private var nextTick: Double

    /// `replay`: a log driven on its own clock, paced by `playback`, instead of events from the
    /// inbox.
    public init(
        settings: Settings, screen: any Screen, inbox: DashboardInbox, clock: any DashboardClock,
        replay: (any ReplayDriver)? = nil, playback: ReplayPlayback = ReplayPlayback(speed: 1),
        perform: @escaping (Request) -> Void
    ) {
        self.settings = settings
        self.replay = replay
        self.playback = playback
        self.screen = screen
        self.inbox = inbox
        self.clock = clock
        self.perform = perform
        frameInterval = 1 / max(0.5, settings.maxFramesPerSecond)
        var options = DashboardApp.fitted(settings.options, to: screen.capabilities)
        if replay != nil { options.replay = true }
        dashboard = Dashboard(options: options)
        nextTick = clock.wall
        if let message = settings.startupMessage {
            dashboard.showStatus(message, isError: true, now: clock.wall, seconds: 15)
        } else if let hint = settings.startupHint {
            dashboard.showStatus(hint, now: clock.wall, seconds: 20, whileRunning: true)
        }
    }

    /// Glyphs and theme the screen can show.
    static func fitted(_ options: DashboardOptions, to capabilities: ScreenCapabilities) -> DashboardOptions {
        var options = options
        if !capabilities.utf8 { options.glyphs = .ascii }
        if capabilities.depth == .monochrome { options.theme = BuiltinThemes.monochrome }
        if capabilities.depth < .palette256 {
            // A theme's selection background rarely survives 16 colours: reverse video does.
            options.theme[.selection] = Style(options.theme.raw(.selection).attributes.union(.reverse))
        }
        return options
    }

    /// Runs until the user quits or the inbox says a signal arrived.
    public mutating func run() -> DashboardOutcome {
        while true {
            if let outcome = step() { return outcome }
        }
    }

    /// One turn of the loop: wait for input until the next frame or tick is due, take what the
    /// inbox holds, handle the inputs, draw when due. Returns how the session ended, if it did.
    public mutating func step() -> DashboardOutcome? {
        var wakeAt = nextTick
        if needsFrame { wakeAt = min(wakeAt, lastFrame + frameInterval) }
        let inputs = screen.readInputs(timeout: max(0, min(1, wakeAt - clock.wall)))

        let batch = inbox.take()
        if !batch.events.isEmpty {
            for event in batch.events { model.apply(event) }
            if !dashboard.isPaused { needsFrame = true }
            pendingArrival = min(pendingArrival ?? .infinity, batch.oldestArrival ?? .infinity)
            if let ts = batch.oldestTs { pendingTs = min(pendingTs ?? ts, ts) }
        }
        for message in batch.messages {
            if let outcome = receive(message) { return outcome }
        }
        for input in inputs {
            if let outcome = handle(input) { return outcome }
        }
        if let replay {
            if playback.tick(replay, wall: clock.wall) { needsFrame = true }
            model = replay.model
        }

        let current = clock.wall
        if current >= nextTick {
            // Clocks and ages on screen move once a second.
            needsFrame = true
            nextTick = dashboard.nextTimedChange(after: current) ?? current + 3600
        }
        // The same sum as the wait above, so the wait always ends with the frame due.
        if needsFrame, current >= lastFrame + frameInterval { drawFrame() }
        return nil
    }

    /// The run's time: the source's clock, frozen once the source ended; a replay's own clock.
    private var now: Double {
        if let replay { return replay.clock ?? replay.overview.start ?? clock.wall }
        return endedAt ?? clock.run
    }

    private mutating func receive(_ message: DashboardInbox.Message) -> DashboardOutcome? {
        switch message {
        case let .status(text, isError):
            dashboard.showStatus(text, isError: isError, now: clock.wall)
        case .sourceEnded:
            endedAt = clock.run
            dashboard.ended = settings.endedMessage
        case let .stackFailed(rank, reason):
            dashboard.noteStackFailed(rank: rank, reason: reason, wall: clock.wall)
        case let .interrupted(signal):
            return .interrupted(signal: signal)
        }
        needsFrame = true
        return nil
    }

    private mutating func handle(_ input: InputEvent) -> DashboardOutcome? {
        if input == .resize {
            screen.invalidate()
            needsFrame = true
            return nil
        }
        switch dashboard.handle(input, model: model, now: now, wall: clock.wall) {
        case .none:
            break
        case .redraw:
            needsFrame = true
        case .quit:
            return .quit
        case .quitStoppingRun:
            return .quitStoppingRun
        case let .injectTrigger(reason):
            needsFrame = true
            perform(.injectTrigger(reason: reason))
        case let .requestStack(rank):
            needsFrame = true
            perform(.requestStack(rank: rank))
        case let .requestStacks(ranks):
            needsFrame = true
            perform(.requestStacks(ranks: ranks))
        case let .replay(command):
            guard let replay else { break }
            if let said = playback.perform(command, on: replay, wall: clock.wall) {
                dashboard.showStatus(said, now: clock.wall, seconds: 5)
            }
            model = replay.model
            needsFrame = true
        }
        return nil
    }

    private mutating func drawFrame() {
        let started = clock.wall
        let now = self.now
        dashboard.eventsPerSecond = model.eventsPerSecond(at: now)
        if let replay {
            let overview = replay.overview
            let atEnd = overview.complete && replay.isAtEnd && !playback.live
            dashboard.ended = atEnd && !playback.follow ? settings.endedMessage : nil
            dashboard.replayBar = ReplayBar(clock: now, overview: overview, speedLabel: playback.speedLabel, playing: playback.playing, live: playback.live)
        }
        let canvas = dashboard.render(model: model, now: now, size: screen.size, wall: started)
        let built = clock.wall
        screen.draw(canvas)
        let shown = clock.wall
        // A replay's timestamps are in the log's past: end to end only means something live.
        let endToEnd = settings.options.canControl ? pendingTs.map { shown - $0 } : nil
        stats.record(build: built - started, draw: shown - built, latency: pendingArrival.map { shown - $0 }, endToEnd: endToEnd)
        pendingArrival = nil
        pendingTs = nil
        lastFrame = shown
        needsFrame = false
    }
}
