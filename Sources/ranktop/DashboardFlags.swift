import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopProtocol
import RanktopTerminal
import RanktopUI

/// Options every command that opens the dashboard takes.
struct DashboardFlags: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "A theme name (default, light, solarized-dark, high-contrast, monochrome, or one in ~/.config/ranktop/themes) or a theme file path. Also RANKTOP_THEME.",
        valueName: "name|path"))
    var theme: String?

    @Flag(name: .long, help: "No colour: bold, dim and reverse only. Also NO_COLOR.")
    var noColor = false

    @Flag(name: .long, help: "Draw with ASCII only (automatic when the locale is not UTF-8).")
    var ascii = false

    @Option(name: .long, help: ArgumentHelp("Most frames per second the dashboard draws.", valueName: "n"))
    var fps: Double = 10

    @OptionGroup(title: "STALLS")
    var stall: StallFlags

    func validate() throws {
        guard fps.isFinite, fps >= 1, fps <= 60 else {
            throw ValidationError("--fps must be between 1 and 60, not \(fps)")
        }
    }
}

/// Opens the dashboard on a source with the user's flags; shared by attach, replay and the live
/// view of demo, launch and run.
enum DashboardSession {
    static func open(
        source: any RunSource, flags: DashboardFlags = .defaults, ownsRun: Bool, logPath: String?,
        endedMessage: String, clock: (@Sendable () -> Double)? = nil, startupMessage: String? = nil, startupHint: String? = nil,
        interrupts: AsyncStream<Int32>? = nil, replay: (any ReplayDriver)? = nil, playback: ReplayPlayback? = nil
    ) async throws -> DashboardOutcome {
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw CLIFailure(message: "the dashboard needs a terminal (stdin and stdout); for a text summary of a log use 'ranktop report LOG'")
        }
        let environment = ProcessInfo.processInfo.environment
        let noColor = flags.noColor || !(environment["NO_COLOR"] ?? "").isEmpty
        let choice = ThemeLoader.standard(environment: environment).choose(flags.theme ?? environment["RANKTOP_THEME"], noColor: noColor)
        if let warning = choice.warning { Terminal.printError(warning) }
        var options = DashboardOptions(
            label: source.label, logPath: logPath, ownsRun: ownsRun, canControl: source.canControl,
            glyphs: flags.ascii ? .ascii : .unicode, theme: choice.theme, utcOffset: localUTCOffset()
        )
        options.stallPolicy = flags.stall.policy
        var configuration = DashboardRunner.Configuration(
            options: options, noColor: noColor, maxFramesPerSecond: flags.fps,
            endedMessage: endedMessage, startupMessage: [choice.warning, startupMessage].compactMap { $0 }.joined(separator: "; ").nilIfEmpty,
            interrupts: interrupts
        )
        configuration.startupHint = startupHint
        if let clock { configuration.clock = clock }
        configuration.replay = replay
        if let playback { configuration.playback = playback }
        do {
            return try await DashboardRunner.run(source: source, configuration: configuration)
        } catch {
            throw CLIFailure(message: "\(error)")
        }
    }

    /// Seconds east of UTC here, for clock times in the events log.
    static func localUTCOffset() -> Int {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return parts.tm_gmtoff
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension DashboardFlags {
    /// The flags' defaults, for callers without a command line of their own.
    static var defaults: DashboardFlags {
        // Parsing nothing cannot fail: every flag has a default.
        (try? DashboardFlags.parse([])) ?? DashboardFlags()
    }
}

extension DashboardOutcome {
    /// The exit status for this ending: 0 for quit, 128 + the signal otherwise.
    var exitCode: Int32 {
        switch self {
        case .quit: 0
        case .quitStoppingRun: RunStop.exitStatus
        case let .interrupted(signal): 128 + signal
        }
    }
}
