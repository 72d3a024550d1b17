import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a local collector leaves in this user's run directory while it runs: its process, its
/// log and its addresses. A collector that dies (`kill -9`, OOM) cannot remove it, so the file is
/// how `ranktop ls` finds a run whose collector is gone and `serve --resume` restarts it on the
/// same addresses and log. Removed at a clean stop.
///
/// Lines of `key value` (`listen` repeated), like the token file beside it: nothing to parse
/// that could fail on a half-written file but a missing key.
public struct RunFile: Sendable, Equatable {
    public var run: String
    public var pid: Int
    public var node: String
    public var log: String
    public var listen: [Address]
    /// When the file was written: the collector's start.
    public var written: Double = 0

    public init(run: String, pid: Int, node: String, log: String, listen: [Address]) {
        self.run = run
        self.pid = pid
        self.node = node
        self.log = log
        self.listen = listen
    }

    /// `<run directory>/<run id>.run`.
    public static func defaultPath(runID: String, in directory: String = UnixSocketPath.defaultDirectory()) -> String {
        directory + "/\(runID).run"
    }

    /// Whether its collector still runs (on this host; one elsewhere cannot be checked).
    public var collectorAlive: Bool {
        CollectorProcess.mayBeRunning(pid: pid, node: node)
    }

    var text: String {
        (["run \(run)", "pid \(pid)", "node \(node)", "log \(log)"] + listen.map { "listen \($0)" }).joined(separator: "\n") + "\n"
    }

    /// Written 0600 without following links, in the private run directory.
    func write(path: String) throws {
        guard !(run + node + log).contains("\n") else { return }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if directory == UnixSocketPath.defaultDirectory() { try UnixSocketPath.preparePrivateDirectory(directory) }
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TransportError("cannot write the run file '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var content = text
        let (_, error) = content.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
        if let error { throw TransportError("cannot write the run file '\(path)': \(String(cString: strerror(error)))") }
    }

    /// The run file at `path`, if it is one of this user's and whole.
    public static func read(path: String) -> RunFile? {
        guard let (text, modified) = TokenFile.readSmallFile(path) else { return nil }
        var values: [String: String] = [:]
        var listen: [Address] = []
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let key = String(line[..<space]), value = String(line[line.index(after: space)...])
            if key == "listen" {
                if let address = try? Address(parsing: value) { listen.append(address) }
            } else {
                values[key] = value
            }
        }
        guard let run = values["run"], let pid = values["pid"].flatMap({ Int($0) }), let node = values["node"], let log = values["log"] else {
            return nil
        }
        var file = RunFile(run: run, pid: pid, node: node, log: log, listen: listen)
        file.written = modified
        return file
    }

    /// Every run file of `directory`, the newest first.
    public static func all(in directory: String = UnixSocketPath.defaultDirectory()) -> [(path: String, file: RunFile)] {
        directoryNames(directory).filter { $0.hasSuffix(".run") }.compactMap { name in
            let path = directory + "/" + name
            return read(path: path).map { (path, $0) }
        }.sorted { $0.file.written > $1.file.written }
    }
}
