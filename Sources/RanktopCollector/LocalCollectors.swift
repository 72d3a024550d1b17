#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RanktopProtocol

/// Finding this user's collectors on this machine, and the addresses to hand out for one.
public enum LocalCollectors {
    /// The socket files of runs in `directory` (default: this user's run directory), the most
    /// recently created first.
    public static func socketsNewestFirst(in directory: String = UnixSocketPath.defaultDirectory()) -> [String] {
        var sockets: [(path: String, modified: Double)] = []
        for name in directoryNames(directory) where name.hasSuffix(".sock") {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { continue }
            sockets.append((path, Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9))
        }
        return sockets.sorted { $0.modified > $1.modified }.map(\.path)
    }

    /// Whether a collector listens on the Unix socket at `path` (a stale one left by a collector
    /// that died refuses the connection).
    public static func listens(unixPath path: String) -> Bool {
        UnixSocketPath.isListening(path)
    }

    /// What ranks on this machine are given as `RANKTOP_ADDR` for a collector bound at
    /// `address`: a wildcard host (every interface) becomes loopback.
    public static func addressForLocalRanks(_ address: Address) -> Address {
        if case let .tcp(host, port) = address, host == "0.0.0.0" || host == "::" || host == "*" {
            return .tcp(host: host == "::" ? "::1" : "127.0.0.1", port: port)
        }
        return address
    }

    /// What other machines use for a collector bound at `address`: a wildcard host becomes this
    /// host's name.
    public static func addressForOtherHosts(_ address: Address) -> Address {
        guard case let .tcp(host, port) = address, host == "0.0.0.0" || host == "::" else { return address }
        return .tcp(host: PeerIdentity.hostName(), port: port)
    }
}
