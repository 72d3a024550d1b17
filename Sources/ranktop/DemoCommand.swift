import ArgumentParser

// Scaffold: the Live pipeline issue replaces this with the real command.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run a realistic simulated training run and watch it.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop demo' is not available in this build yet") }
    }
}
