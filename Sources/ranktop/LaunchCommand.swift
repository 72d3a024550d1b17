import ArgumentParser

// Scaffold: the Live pipeline issue replaces this with the real command.
struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "launch", abstract: "Spawn N ranks of a command and watch them.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop launch' is not available in this build yet") }
    }
}
