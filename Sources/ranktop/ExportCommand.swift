import ArgumentParser

// Scaffold: a later issue replaces this with the real command.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export an event log to other formats.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop export' is not available in this build yet") }
    }
}
