import ArgumentParser

// Scaffold: the Live pipeline issue replaces this with the real command.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "A headless collector for multi-node runs.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop serve' is not available in this build yet") }
    }
}
