import CNcursesShim
import Foundation
import RanktopModel
import RanktopProtocol
import RanktopUI
#if canImport(Glibc)
import Glibc
#endif

/// How a dashboard session ended.
public enum DashboardOutcome: Sendable, Equatable {
    /// The user quit, leaving the run alone (a run that is over, or not the dashboard's).
    case quit
    /// The user quit and confirmed stopping the run the dashboard owns: the caller stops it.
    case quitStoppingRun
    /// SIGINT, SIGTERM or SIGHUP arrived; the terminal is restored.
    case interrupted(signal: Int32)
}

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
        /// Set by a caller that owns SIGINT, SIGTERM and SIGHUP (a launcher, through
        /// `TerminationSignals`): the dashboard leaves them alone and quits when a signal arrives
        /// here. Nil: the dashboard catches them itself.
        public var interrupts: AsyncStream<Int32>?

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
        let inbox = try EventInbox()
        let feeder = Task.detached {
            for await event in source.events() {
                inbox.post(event)
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
            let thread = Thread {
                do {
                    var loop = try DashboardLoop(source: source, configuration: configuration, inbox: inbox)
                    continuation.resume(returning: loop.run())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "ranktop-dashboard"
            thread.start()
        }
    }

    /// Puts the terminal back (main screen, cursor, echo, no mouse reporting) from any thread,
    /// for a process about to `_exit` with the dashboard possibly still up. Safe when it is not.
    public static func restoreTerminalNow() {
        rt_stop()
    }
}
