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
    /// The user quit (confirmed, when the dashboard owns the run).
    case quit
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

        public init(options: DashboardOptions, noColor: Bool = false, maxFramesPerSecond: Double = 10,
                    clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                    endedMessage: String = "run ended", startupMessage: String? = nil) {
            self.options = options
            self.noColor = noColor
            self.maxFramesPerSecond = maxFramesPerSecond
            self.clock = clock
            self.endedMessage = endedMessage
            self.startupMessage = startupMessage
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
        defer { feeder.cancel() }
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
}
