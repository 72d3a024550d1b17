import ArgumentParser

// Scaffold: the Foundation issue replaces this with the real command.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Post-mortem of an event log.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop report' is not available in this build yet") }
    }
}
