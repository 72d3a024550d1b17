import ArgumentParser

// Scaffold: the Live pipeline issue replaces this with the real command.
struct TriggerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trigger", abstract: "Inject a trigger: stop the run cleanly at its next check.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop trigger' is not available in this build yet") }
    }
}
