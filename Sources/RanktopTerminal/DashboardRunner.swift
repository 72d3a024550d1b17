import CNcursesShim
import FoundationEssentials
import RanktopProtocol
import RanktopUI
#if canImport(Glibc)
import Glibc
#endif

/// Opens the dashboard on a run source and runs it until the user quits or a signal arrives:
/// events in from the source, the model updated on the dashboard's own thread, frames drawn on
/// change and at most `maxFramesPerSecond`, keys and mouse handled, actions sent to the source.
/// The terminal is restored on every way out.
public enum DashboardRunner {
    public struct Configuration: Sendable {
        public var options: DashboardOptions
        public var noColor: Bool
        public var maxFramesPerSecond: Double
        /// The run's clock (a replay's clock runs in the log's time); wall clock by default.
        public var clock: @Sendable () -> Double
        /// Said in the header once the source ends.
        public var endedMessage: String
        /// Shown in the footer at start (a theme problem, say).
        public var startupMessage: String?
        /// Shown in the footer at start, not as an error (what a demo scenario shows).
        public var startupHint: String?
        /// Set by a caller that owns SIGINT, SIGTERM and SIGHUP (a launcher, through
        /// `TerminationSignals`): the dashboard leaves them alone and quits when a signal arrives
        /// here. Nil: the dashboard catches them itself.
        public var interrupts: AsyncStream<Int32>?
        /// A replayed log: the dashboard drives its position (the source then only says what
        /// cannot be done to a log).
        public var replay: (any ReplayDriver)?
        public var playback = ReplayPlayback(speed: 1)

        public init(options: DashboardOptions, noColor: Bool = false, maxFramesPerSecond: Double = 10,
                    clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                    endedMessage: String = "run ended", startupMessage: String? = nil, interrupts: AsyncStream<Int32>? = nil) {
            self.options = options
            self.noColor = noColor
            self.maxFramesPerSecond = maxFramesPerSecond
            self.clock = clock
            self.endedMessage = endedMessage
            self.startupMessage = startupMessage
            self.interrupts = interrupts
        }
    }

    public static func run(source: any RunSource, configuration: Configuration) async throws -> DashboardOutcome {
        let inboxWake = try WakePipe()
        let inbox = DashboardInbox(wake: { inboxWake.poke() })
        let feeder = Task.detached {
            for await batch in source.batches() {
                inbox.post(batch)
            }
            inbox.post(.sourceEnded)
        }
        let interrupter = configuration.interrupts.map { interrupts in
            Task.detached {
                for await signal in interrupts {
                    inbox.post(.interrupted(signal: signal))
                    return
                }
            }
        }
        defer {
            feeder.cancel()
            interrupter?.cancel()
        }
        return try await withCheckedThrowingContinuation { continuation in
            // The terminal's own thread (ncurses and the poll() wait block), 8 MiB like a main thread.
            DetachedThread.start(name: "ranktop-dashboard", stackSize: 8 << 20) {
                do {
                    continuation.resume(returning: try runOnThisThread(source: source, configuration: configuration, inbox: inbox, inboxWake: inboxWake))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// The dashboard thread: owns the terminal and the app loop; the terminal is restored before
    /// returning.
    private static func runOnThisThread(
        source: any RunSource, configuration: Configuration, inbox: DashboardInbox, inboxWake: WakePipe
    ) throws -> DashboardOutcome {
        let terminal = try TerminalScreen(noColor: configuration.noColor)
        let signals: DashboardSignals
        do {
            signals = try DashboardSignals(catchTermination: configuration.interrupts == nil)
        } catch {
            terminal.stop()
            throw error
        }
        let startedWall = Date().timeIntervalSince1970
        let screen = PolledTerminal(terminal: terminal, inbox: inbox, inboxWake: inboxWake, signals: signals)
        let settings = DashboardApp.Settings(
            options: configuration.options, maxFramesPerSecond: configuration.maxFramesPerSecond,
            endedMessage: configuration.endedMessage, startupMessage: configuration.startupMessage,
            startupHint: configuration.startupHint
        )
        var app = DashboardApp(
            settings: settings, screen: screen, inbox: inbox, clock: SystemDashboardClock(run: configuration.clock),
            replay: configuration.replay, playback: configuration.playback
        ) { request in
            send(request, to: source, answeringIn: inbox)
        }
        defer {
            terminal.stop()
            signals.restore()
            writeStats(app.stats, startedWall: startedWall, to: ProcessInfo.processInfo.environment["RANKTOP_DASHBOARD_STATS"])
        }
        return app.run()
    }

    /// Sends a request off the dashboard thread; the answer comes back as an inbox message.
    private static func send(_ request: DashboardApp.Request, to source: any RunSource, answeringIn inbox: DashboardInbox) {
        Task.detached {
            switch request {
            case let .injectTrigger(reason):
                do {
                    let id = try await source.injectTrigger(reason: reason)
                    inbox.post(.status("trigger \(id) handed to the run: every rank stops at its next check", isError: false))
                } catch {
                    inbox.post(.status("the trigger was not sent: \(error)", isError: true))
                }
            case let .requestStack(rank):
                do {
                    try await source.requestStack(rank: rank)
                    inbox.post(.status("asked rank \(rank) for its stack", isError: false))
                } catch {
                    inbox.post(.stackFailed(rank: rank, reason: "\(error)"))
                }
            case let .requestStacks(ranks):
                let failures = await requestStacks(ranks, from: source)
                if let (rank, reason) = failures.first {
                    let others = failures.count > 1 ? " and \(failures.count - 1) more" : ""
                    inbox.post(.status("could not ask rank \(rank)\(others) for a stack: \(reason)", isError: true))
                } else {
                    inbox.post(.status("asked \(ranks.count) rank\(ranks.count == 1 ? "" : "s") for their stacks", isError: false))
                }
            }
        }
    }

    /// One stack request per rank, a few dozen in flight at once (each may be a connection to a
    /// collector); returns the ranks that could not be asked, and why.
    private static func requestStacks(_ ranks: [Int], from source: any RunSource) async -> [(Int, String)] {
        await withTaskGroup(of: (Int, String)?.self) { group in
            var pending = ranks[...]
            func addNext() {
                guard let rank = pending.popFirst() else { return }
                group.addTask {
                    do {
                        try await source.requestStack(rank: rank)
                        return nil
                    } catch {
                        return (rank, "\(error)")
                    }
                }
            }
            for _ in 0..<64 { addNext() }
            var failures: [(Int, String)] = []
            for await failure in group {
                if let failure { failures.append(failure) }
                addNext()
            }
            return failures.sorted { $0.0 < $1.0 }
        }
    }

    private static func writeStats(_ stats: FrameStats, startedWall: Double, to path: String?) {
        guard let path, !path.isEmpty else { return }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        let json = stats.json(wallSeconds: Date().timeIntervalSince1970 - startedWall, cpuSeconds: cpu)
        try? json.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Puts the terminal back (main screen, cursor, echo, no mouse reporting) from any thread,
    /// for a process about to `_exit` with the dashboard possibly still up. Safe when it is not.
    public static func restoreTerminalNow() {
        rt_stop()
    }
}
