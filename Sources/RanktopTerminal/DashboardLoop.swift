import CNcursesShim
import Foundation
import RanktopModel
import RanktopProtocol
import RanktopUI
#if canImport(Glibc)
import Glibc
#endif

/// The dashboard thread: owns the terminal and the model. Sleeps in poll() on stdin, the inbox
/// and the signal pipe until there is something to do, so an idle dashboard costs nothing but a
/// once-a-second redraw of its clocks.
struct DashboardLoop {
    private let source: any RunSource
    private let configuration: DashboardRunner.Configuration
    private let inbox: EventInbox
    private let screen: TerminalScreen
    private let signalPipe: (read: Int32, write: Int32)
    private var model = RunModel(limits: .live)
    private var dashboard: Dashboard
    private var rate = EventRate()
    private var stats = FrameStats()
    private var sourceEnded = false
    private var endedAt: Double?

    init(source: any RunSource, configuration: DashboardRunner.Configuration, inbox: EventInbox) throws {
        self.source = source
        self.configuration = configuration
        self.inbox = inbox
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        signalPipe = (fds[0], fds[1])
        do {
            screen = try TerminalScreen(noColor: configuration.noColor)
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        var options = configuration.options
        if !screen.utf8 { options.glyphs = .ascii }
        if screen.depth == .monochrome { options.theme = BuiltinThemes.monochrome }
        if screen.depth < .palette256 {
            // A theme's selection background rarely survives 16 colours: reverse video does.
            options.theme[.selection] = Style(options.theme.raw(.selection).attributes.union(.reverse))
        }
        dashboard = Dashboard(options: options)
        rt_install_signal_pipe(signalPipe.write, configuration.interrupts == nil ? 1 : 0)
        rt_install_crash_handlers()
    }

    /// Runs until quit or a signal; the terminal is restored before returning.
    mutating func run() -> DashboardOutcome {
        defer {
            screen.stop()
            rt_restore_signals()
            close(signalPipe.read)
            close(signalPipe.write)
            stats.write(to: ProcessInfo.processInfo.environment["RANKTOP_DASHBOARD_STATS"])
        }
        let frameInterval = 1 / max(0.5, configuration.maxFramesPerSecond)
        if let message = configuration.startupMessage {
            dashboard.showStatus(message, isError: true, now: Date().timeIntervalSince1970, seconds: 15)
        }
        var dirty = true
        var lastFrame = -Double.infinity
        var pendingArrival: Double?
        var pendingTs: Double?
        var nextTick = now()

        while true {
            // Sleep until input, an event, a signal, the next allowed frame or the next tick.
            let wall = Date().timeIntervalSince1970
            var wakeAt = nextTick
            if dirty { wakeAt = min(wakeAt, lastFrame + frameInterval) }
            let timeout = Int32(max(0, min(1000, (wakeAt - wall) * 1000).rounded(.up)))
            var fds = [
                pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
                pollfd(fd: inbox.readFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signalPipe.read, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, nfds_t(fds.count), timeout)

            if let signal = takeSignal() { return .interrupted(signal: signal) }

            let batch = inbox.take()
            if !batch.events.isEmpty {
                for event in batch.events { model.apply(event) }
                if !dashboard.isPaused { dirty = true }
                pendingArrival = min(pendingArrival ?? .infinity, batch.oldestArrival ?? .infinity)
                if let ts = batch.oldestTs { pendingTs = min(pendingTs ?? ts, ts) }
            }
            for message in batch.messages {
                switch message {
                case let .status(text, isError):
                    dashboard.showStatus(text, isError: isError, now: Date().timeIntervalSince1970)
                case .sourceEnded:
                    sourceEnded = true
                    endedAt = configuration.clock()
                    dashboard.ended = configuration.endedMessage
                case let .stackFailed(rank, reason):
                    dashboard.noteStackFailed(rank: rank, reason: reason, wall: Date().timeIntervalSince1970)
                case let .interrupted(signal):
                    return .interrupted(signal: signal)
                }
                dirty = true
            }

            for input in screen.readInputs() {
                if input == .resize {
                    screen.invalidate()
                    dirty = true
                    continue
                }
                switch dashboard.handle(input, model: model, now: now(), wall: Date().timeIntervalSince1970) {
                case .none:
                    break
                case .redraw:
                    dirty = true
                case .quit:
                    return .quit
                case .quitStoppingRun:
                    return .quitStoppingRun
                case let .injectTrigger(reason):
                    dirty = true
                    sendTrigger(reason: reason)
                case let .requestStack(rank):
                    dirty = true
                    requestStack(rank: rank)
                }
            }

            let current = Date().timeIntervalSince1970
            if current >= nextTick {
                // Clocks and ages on screen move once a second.
                dirty = true
                nextTick = dashboard.nextTimedChange(after: current) ?? current + 3600
            }
            if dirty, current - lastFrame >= frameInterval {
                rate.record(count: model.eventCount, at: current)
                dashboard.eventsPerSecond = rate.perSecond
                let size = screen.size
                let started = Date().timeIntervalSince1970
                let canvas = dashboard.render(model: model, now: now(), size: size, wall: started)
                let built = Date().timeIntervalSince1970
                screen.draw(canvas)
                let shown = Date().timeIntervalSince1970
                // A replay's timestamps are in the log's past: end to end only means something live.
                let endToEnd = configuration.options.canControl ? pendingTs.map { shown - $0 } : nil
                stats.record(build: built - started, draw: shown - built, latency: pendingArrival.map { shown - $0 }, endToEnd: endToEnd)
                pendingArrival = nil
                pendingTs = nil
                lastFrame = shown
                dirty = false
            }
        }
    }

    /// The run's time: the source's clock, frozen once the source ended.
    private func now() -> Double {
        endedAt ?? configuration.clock()
    }

    private func takeSignal() -> Int32? {
        var byte: UInt8 = 0
        var found: Int32?
        while read(signalPipe.read, &byte, 1) == 1 {
            let signal = Int32(byte)
            if signal == SIGINT || signal == SIGTERM || signal == SIGHUP { found = signal }
        }
        return found
    }

    private func sendTrigger(reason: String?) {
        let source = self.source
        let inbox = self.inbox
        Task.detached {
            do {
                let id = try await source.injectTrigger(reason: reason)
                inbox.post(.status("trigger \(id) handed to the run: every rank stops at its next check", isError: false))
            } catch {
                inbox.post(.status("the trigger was not sent: \(error)", isError: true))
            }
        }
    }

    private func requestStack(rank: Int) {
        let source = self.source
        let inbox = self.inbox
        Task.detached {
            do {
                try await source.requestStack(rank: rank)
                inbox.post(.status("asked rank \(rank) for its stack", isError: false))
            } catch {
                inbox.post(.stackFailed(rank: rank, reason: "\(error)"))
            }
        }
    }
}
