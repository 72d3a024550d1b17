import ArgumentParser

// Scaffold: the Live pipeline issue replaces this with the real command.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Wrap any launcher (torchrun, accelerate launch) and watch its ranks.")

    @Argument(parsing: .captureForPassthrough) var rest: [String] = []

    func run() throws {
        try reportingFailures { throw CLIFailure(message: "'ranktop run' is not available in this build yet") }
    }
}
