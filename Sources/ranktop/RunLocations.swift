#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopModel
import RanktopProtocol
import RanktopCollector

/// Where a run's files go and what it is called.
enum RunLocations {
    /// `r-20261129-143005-7f3a`: sortable, readable, unique enough on one machine.
    static func newRunID() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        let date = "\(Int(parts.tm_year) + 1900)" + Format.pad2(Int(parts.tm_mon) + 1) + Format.pad2(Int(parts.tm_mday))
        let stamp = date + "-" + Format.pad2(Int(parts.tm_hour)) + Format.pad2(Int(parts.tm_min)) + Format.pad2(Int(parts.tm_sec))
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return "r-\(stamp)-\(String(repeating: "0", count: 4 - suffix.count))\(suffix)"
    }

    /// `$XDG_STATE_HOME/ranktop/runs`, else `~/.local/state/ranktop/runs`.
    static func runsDirectory() -> String {
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return state + "/ranktop/runs"
        }
        return FilePaths.home + "/.local/state/ranktop/runs"
    }

    /// The event log of a run: `--log`, else `<runs directory>/<run id>.jsonl` (directories
    /// created). Throws a message for the user when the directory cannot be made.
    /// `appending`: `serve` appends to an existing log on purpose (a restarted collector carries
    /// on); a new run refuses one, since a log holds one run and viewers would replay the old one.
    static func logPath(explicit: String?, runID: String, appending: Bool = false) throws -> String {
        if let explicit {
            let absolute = explicit.hasPrefix("/") ? explicit : FileManager.default.currentDirectoryPath + "/" + explicit
            let directory = FilePaths.parent(of: absolute)
            guard FilePaths.isDirectory(directory) == true else {
                throw CLIFailure(message: "cannot write the log '\(explicit)': the directory '\(directory)' does not exist")
            }
            if FilePaths.isDirectory(absolute) == true {
                throw CLIFailure.usage("--log '\(explicit)' is a directory; give the path of a file, e.g. \(explicit.hasSuffix("/") ? explicit : explicit + "/")run.jsonl")
            }
            if !appending, let size = (try? FileManager.default.attributesOfItem(atPath: absolute))?[.size] as? Int, size > 0 {
                throw CLIFailure(message: "the log '\(explicit)' already holds a run; give a new path (a log holds one run)")
            }
            return absolute
        }
        let directory = runsDirectory()
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIFailure(message: "cannot create the run directory '\(directory)': \(error); give --log PATH")
        }
        return directory + "/\(runID).jsonl"
    }

    /// Parses `--listen` values; a clear message for a bad one.
    static func addresses(_ texts: [String]) throws -> [Address] {
        try texts.map { try address($0, option: "--listen ") }
    }

    /// Parses an address given on the command line; a clear message for a bad one.
    static func address(_ text: String, option: String = "") throws -> Address {
        do {
            return try Address(parsing: text)
        } catch {
            throw CLIFailure.usage("\(option)\(error)")
        }
    }

    /// The token given: `--token`, else `RANKTOP_TOKEN`.
    static func token(explicit: String?) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        let fromEnvironment = ProcessInfo.processInfo.environment["RANKTOP_TOKEN"]
        return fromEnvironment?.isEmpty == false ? fromEnvironment : nil
    }

    /// The token a collector requires: the one given, else a fresh one whenever it listens on
    /// TCP (loopback included: every local user can reach a port). Nil for Unix sockets alone,
    /// whose peers are admitted by their credentials.
    static func collectorToken(explicit: String?, listen: [Address]) -> String? {
        if let given = token(explicit: explicit) { return given }
        return listen.contains(where: \.isTCP) ? TokenFile.generateToken() : nil
    }

    /// The token to present to the collector at `address`: the one given, else the one a local
    /// collector of this user left in its token file.
    static func clientToken(explicit: String?, for address: Address) -> String? {
        token(explicit: explicit) ?? TokenFile.lookup(for: address)
    }

    /// A collector with thousands of ranks needs thousands of descriptors: take the hard limit.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
    }

    /// The real path of the running `ranktop` executable.
    static func executablePath() -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return resolved
        }
        let argument = CommandLine.arguments[0]
        let absolute = argument.hasPrefix("/") ? argument : FileManager.default.currentDirectoryPath + "/" + argument
        return FilePaths.resolvingSymlinks(absolute)
    }
}

#if canImport(Glibc)
let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
