import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopModel
import RanktopProtocol
import RanktopCollector

struct StackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stack",
        abstract: "Print where each rank of a running run is: its training thread's stack.",
        discussion: """
        Asks the collector at ADDR to ask each RANK (with no RANK, or with --all: every rank of \
        the run) for its training thread's stack, waits up to --timeout seconds for the answers, \
        and prints them as `py-spy dump` would over the whole job: ranks with the same stack \
        once, headed by their ranks ("ranks 0-6 (7 ranks):"), innermost frame first, each frame \
        as `function (file:line)` with library paths shortened and the program's own frames \
        marked ▶ (* in an ASCII locale). Python ranks show their Python stack; Swift ranks the \
        ranktop primitives they are in.

        Without ADDR, asks the run of yours running on this host (its collector's run file, or a \
        socket listening in $XDG_RUNTIME_DIR/ranktop, else /tmp/ranktop-$UID); with several it \
        lists them and asks which, or, when stdin is not a terminal, refuses with the list.

        --json prints {"stacks":[{"rank":0,"ts":1764412345.2,"frames":["..."]}],"missing":[3]}: \
        frames as the rank sent them (innermost last), and the ranks that did not answer.

          ranktop stack
          ranktop stack unix:/run/user/1000/ranktop/r-20261129-143005-7f3a.sock 0 7
          ranktop stack tcp://10.0.0.5:29600 --token "$TOKEN" --json

        Exit status: 0 every rank asked answered; 1 some rank did not answer in time (not \
        connected, ended, or busy past --timeout; they are listed); 2 no run to ask (nothing \
        listening at ADDR, a collector that refuses the token, no local run, or no rank \
        connected yet); 64 a usage error.
        """
    )

    @Argument(help: ArgumentHelp("The collector, unix:/path.sock or tcp://host:port (default: the run of yours running here), then the ranks to ask (default: all).", valueName: "addr|rank"))
    var targets: [String] = []

    @Flag(name: .long, help: "Ask every rank of the run (the same as giving no rank).")
    var all = false

    @Flag(name: .long, help: "Print JSON: {\"stacks\":[{\"rank\",\"ts\",\"frames\"}],\"missing\":[ranks]}.")
    var json = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Seconds to wait for the answers.", valueName: "seconds"))
    var timeout: Double = 5

    @Option(name: .long, help: ArgumentHelp("The collector's token (default: $RANKTOP_TOKEN, else a local collector's token file).", valueName: "token"))
    var token: String?

    func validate() throws {
        guard timeout > 0, timeout.isFinite, timeout <= 3600 else { throw ValidationError("--timeout must be a positive number of seconds (at most 3600)") }
        let (_, ranks) = try split()
        if all, !ranks.isEmpty { throw ValidationError("give ranks or --all, not both") }
    }

    /// The address (when the first target is one) and the ranks.
    private func split() throws -> (address: String?, ranks: [Int]) {
        var rest = targets[...]
        var address: String?
        if let first = rest.first, Int(first) == nil {
            address = first
            rest = rest.dropFirst()
        }
        let ranks = try rest.map { text -> Int in
            guard let rank = Int(text), rank >= 0 else {
                throw ValidationError("'\(text)' is not a rank: give rank numbers (0, 1, ...) after the address")
            }
            return rank
        }
        return (address, ranks)
    }

    func run() async throws {
        try await reportingFailures {
            let (addressText, ranks) = try split()
            let result = try await collect(addressText: addressText, ranks: ranks.isEmpty ? nil : ranks)
            if result.asked.isEmpty {
                throw CLIFailure(message: "no rank has connected to the collector yet: no run to ask", exitCode: 2)
            }
            if json {
                Console.say(StackCommand.json(result))
            } else {
                for line in StackCommand.text(result, ascii: !StackCommand.localeIsUTF8) { Console.say(line) }
            }
            if !result.missing.isEmpty { throw ExitCode(ExitStatus.notDone) }
        }
    }

    private func collect(addressText: String?, ranks: [Int]?) async throws -> StackCollection.Result {
        if let addressText, let segment = try SegmentSource.name(addressText) {
            return try await SegmentSource.withLiveCollector(segment) { viewer, _ in
                do {
                    return try await StackCollection.collect(at: viewer, token: nil, ranks: ranks, timeout: timeout)
                } catch {
                    throw CLIFailure(message: "\(error)", exitCode: 2)
                }
            }
        }
        if let addressText {
            let address = try RunLocations.address(addressText)
            do {
                return try await StackCollection.collect(
                    at: address, token: RunLocations.clientToken(explicit: token, for: address), ranks: ranks, timeout: timeout
                )
            } catch {
                throw CLIFailure(message: "\(error)", exitCode: 2)
            }
        }
        return try await collect(addressText: LocalRunPicker.pick(for: "stack", noneExitCode: 2), ranks: ranks)
    }

    /// The stacks grouped, then who did not answer.
    static func text(_ result: StackCollection.Result, ascii: Bool) -> [String] {
        var lines: [String] = []
        let answered = result.stacks.count
        let run = result.run.map { "run \($0): " } ?? ""
        lines.append("\(run)\(answered) of \(result.asked.count) rank\(result.asked.count == 1 ? "" : "s") answered; innermost frame first")
        for group in StackGroup.groups(result.stacks) {
            lines.append("")
            lines.append(group.title + ":")
            if group.frames.isEmpty { lines.append("    (no frames)") }
            for frame in group.frames {
                lines.append("  " + Format.frame(frame, width: .max, ascii: ascii).text)
            }
        }
        let reasons = Dictionary(grouping: result.missing.keys.sorted()) { result.missing[$0]! }
        for reason in reasons.keys.sorted() {
            lines.append("")
            lines.append("no answer from \(Format.ranksLabelled(RankSet(reasons[reason]!))): \(reason)")
        }
        return lines
    }

    static func json(_ result: StackCollection.Result) -> String {
        let stacks = result.stacks.sorted { $0.rank < $1.rank }.map { stack in
            JSONValue.object([
                ("rank", .int(stack.rank)), ("ts", .double(stack.ts)), ("frames", .array(stack.frames.map(JSONValue.string))),
            ])
        }
        return JSONValue.object([
            ("stacks", .array(stacks)), ("missing", .array(result.missing.keys.sorted().map(JSONValue.int))),
        ]).serialized
    }

    static var localeIsUTF8: Bool {
        let environment = ProcessInfo.processInfo.environment
        let locale = [environment["LC_ALL"], environment["LC_CTYPE"], environment["LANG"]].compactMap { $0 }.first { !$0.isEmpty } ?? ""
        let lowered = locale.lowercased()
        return lowered.contains("utf-8") || lowered.contains("utf8")
    }
}
