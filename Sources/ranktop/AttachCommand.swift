import ArgumentParser

// Scaffold: the dashboard issue replaces this with the real command.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attach", abstract: "Open the dashboard on a running collector.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop attach' is not available in this build yet") }
    }
}
