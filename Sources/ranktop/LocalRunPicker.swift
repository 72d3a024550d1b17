#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import RanktopCollector
import RanktopModel
import RanktopProtocol

/// The local run a command means when it is given no address (`trigger`, `stack`): the only
/// collector of this user running on this host; with several, the one the user picks at a
/// terminal, and a refusal that lists them anywhere else (a script must name its run).
enum LocalRunPicker {
    struct Candidate: Equatable {
        var run: String
        /// As the command takes it: `unix:/...`, `tcp://...` or `shm://...`.
        var address: String
        var since: Double?
    }

    /// Running collectors, the newest first: their run files, then sockets in the run directory
    /// that listen but have none (a collector of an older ranktop).
    static func candidates(in directory: String = UnixSocketPath.defaultDirectory()) -> [Candidate] {
        var found: [Candidate] = []
        for (_, file) in RunFile.all(in: directory) where file.collectorAlive && file.node == PeerIdentity.hostName() {
            // A Unix socket first: no token to find, the peer's identity checked by the kernel.
            let preferred = file.listen.first { if case .unix = $0 { true } else { false } } ?? file.listen.first
            if let preferred { found.append(Candidate(run: file.run, address: preferred.description, since: file.written)) }
        }
        for path in LocalCollectors.socketsNewestFirst(in: directory) {
            let address = Address.unix(path: path).description
            guard !found.contains(where: { $0.address == address }), LocalCollectors.listens(unixPath: path) else { continue }
            let name = path.split(separator: "/").last.map { String($0.dropLast(".sock".count)) } ?? path
            found.append(Candidate(run: name, address: address, since: nil))
        }
        return found
    }

    /// The address to use, or a clear refusal.
    static func pick(
        for command: String, noneExitCode: Int32 = ExitStatus.notDone, in directory: String = UnixSocketPath.defaultDirectory()
    ) throws -> String {
        let found = candidates(in: directory)
        switch found.count {
        case 0:
            throw CLIFailure(
                message: "no running collector in \(directory); give its address: ranktop \(command) unix:/path.sock, tcp://host:port or shm://NAME",
                exitCode: noneExitCode
            )
        case 1:
            return found[0].address
        default:
            let table = list(found)
            guard isatty(0) == 1, isatty(2) == 1 else {
                throw CLIFailure(
                    message: "\(found.count) runs are running here; give the address of one:\n" + table.joined(separator: "\n"),
                    exitCode: ExitStatus.usage
                )
            }
            Console.warn("\(found.count) runs are running here:\n" + table.joined(separator: "\n"))
            while true {
                Terminal.writeStderr("which one? [1-\(found.count), Enter for 1, q to quit] ")
                guard let answer = readLine().map({ String($0.filter { $0 != " " && $0 != "\t" }) }) else { throw ExitCode(ExitStatus.usage) }
                if answer.isEmpty { return found[0].address }
                if answer == "q" { throw ExitCode(ExitStatus.usage) }
                if let choice = Int(answer), (1...found.count).contains(choice) { return found[choice - 1].address }
            }
        }
    }

    static func list(_ found: [Candidate]) -> [String] {
        let now = WallClock.now
        let width = found.map(\.run.count).max() ?? 0
        return found.enumerated().map { index, candidate in
            let age = candidate.since.map { "  started \(Format.duration(max(now - $0, 0))) ago" } ?? ""
            return "  \(index + 1)  \(candidate.run + String(repeating: " ", count: max(0, width - candidate.run.count)))  \(candidate.address)\(age)"
        }
    }
}
