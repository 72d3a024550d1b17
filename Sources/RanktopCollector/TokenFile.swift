import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a local collector leaves its token for this user's own tools: a 0600 file in the user's
/// 0700 run directory, naming the token and the TCP addresses it guards. `attach` and `trigger`
/// read it, so a loopback TCP listener can require a token without the user typing one.
public enum TokenFile {
    /// `<run directory>/<run id>.token`.
    public static func defaultPath(runID: String) -> String {
        UnixSocketPath.defaultDirectory() + "/\(runID).token"
    }

    /// A fresh token: 128 bits from the system's generator, as hex.
    public static func generateToken() -> String {
        Collector.randomHex(32)
    }

    /// Writes the token and the addresses (one a line after the token). The directory is made
    /// safe first; the file is created 0600 without following links.
    static func write(path: String, token: String, addresses: [Address]) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if directory == UnixSocketPath.defaultDirectory() { try UnixSocketPath.preparePrivateDirectory(directory) }
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw TransportError("cannot write the token file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var text = ([token] + addresses.map(\.description)).joined(separator: "\n") + "\n"
        let (_, error) = text.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
        if let error { throw TransportError("cannot write the token file '\(path)': \(String(cString: strerror(error)))") }
    }

    /// The token a token file holds (a collector that died left it, with its run file).
    public static func token(atPath path: String) -> String? {
        guard let (text, _) = readSmallFile(path), let first = text.split(separator: "\n").first, !first.isEmpty else { return nil }
        return String(first)
    }

    static func remove(path: String) {
        unlink(path)
    }

    /// The token of a local collector listening at `address`, from the token files of this user's
    /// run directory; nil when none names it. When several do (a collector killed with `kill -9`
    /// leaves its file, and a later one may get the same port), the newest file wins.
    public static func lookup(for address: Address, in directory: String = UnixSocketPath.defaultDirectory()) -> String? {
        guard case let .tcp(host, port) = address else { return nil }
        var newest: (token: String, modified: Double)?
        for name in directoryNames(directory) where name.hasSuffix(".token") {
            guard let (text, modified) = readSmallFile(directory + "/" + name) else { continue }
            let lines = text.split(separator: "\n").map(String.init)
            guard let token = lines.first, !token.isEmpty else { continue }
            let names = lines.dropFirst().contains { line in
                guard case let .tcp(listenHost, listenPort)? = try? Address(parsing: line), listenPort == port else { return false }
                return listenHost == host || (Address.tcp(host: host, port: port).isLoopback && isLocal(listenHost))
            }
            if names, modified > newest?.modified ?? -1 { newest = (token, modified) }
        }
        return newest?.token
    }

    private static func isLocal(_ host: String) -> Bool {
        host == "0.0.0.0" || host == "::" || host == "*" || Address.tcp(host: host, port: 0).isLoopback
    }

    /// A token file is tiny; anything larger, or not this user's, is not one.
    static func readSmallFile(_ path: String) -> (String, Double)? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_uid == geteuid(), info.st_size < 4096 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = read(fd, &bytes, bytes.count)
        guard count >= 0 else { return nil }
        return (String(decoding: bytes.prefix(count), as: UTF8.self), Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }
}
