import ArgumentParser

// Scaffold: the dashboard issue replaces this with the real command.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Replay an event log in the dashboard.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop replay' is not available in this build yet") }
    }
}
