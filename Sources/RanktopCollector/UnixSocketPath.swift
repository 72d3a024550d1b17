import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where Unix sockets live and how a path is made ready to bind.
public enum UnixSocketPath {
    /// `$XDG_RUNTIME_DIR/ranktop`, else `/tmp/ranktop-$UID`: a directory only this user can enter.
    public static func defaultDirectory() -> String {
        if let runtime = getenv("XDG_RUNTIME_DIR").map({ String(cString: $0) }), runtime.hasPrefix("/") {
            return runtime + "/ranktop"
        }
        return "/tmp/ranktop-\(getuid())"
    }

    /// The default address of a run's collector.
    public static func defaultAddress(runID: String) -> Address {
        .unix(path: defaultDirectory() + "/\(runID).sock")
    }

    /// Longest path a `sockaddr_un` holds, without its terminating zero.
    static let maxPathBytes = 107

    /// Makes `path` ready to bind: its directory exists (created 0700; the default directory must be
    /// this user's and closed to others), and a stale socket left by a collector that died is
    /// removed. Throws when another collector listens there or the path is something else.
    static func prepare(_ path: String) throws {
        guard path.utf8.count <= maxPathBytes else {
            throw TransportError("unix:\(path): the path is longer than \(maxPathBytes) bytes, which a Unix socket cannot use; choose a shorter one")
        }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if directory == defaultDirectory() {
            try preparePrivateDirectory(directory)
        } else if !directory.isEmpty {
            var info = stat()
            guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
                throw TransportError("unix:\(path): the directory '\(directory)' does not exist; create it first or choose another path")
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw TransportError("unix:\(path): the path exists and is not a socket; choose another path")
        }
        if isListening(path) {
            throw TransportError("unix:\(path): another collector is already listening there")
        }
        unlink(path)
    }

    /// After bind: only this user may connect.
    static func restrict(_ path: String) {
        chmod(path, 0o600)
    }

    /// Makes the user's own run directory ready, as tmux and ssh-agent do: created 0700 when
    /// missing; never followed through a symbolic link; refused when another user owns it; its
    /// mode fixed through the open descriptor, so a link swapped in between cannot redirect it.
    public static func preparePrivateDirectory(_ directory: String) throws {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw TransportError("cannot create the run directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        var before = stat()
        guard lstat(directory, &before) == 0 else {
            throw TransportError("cannot use the run directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        if (before.st_mode & S_IFMT) == S_IFLNK {
            throw TransportError("the run directory '\(directory)' is a symbolic link, which ranktop never follows; remove it, or set XDG_RUNTIME_DIR")
        }
        guard (before.st_mode & S_IFMT) == S_IFDIR else {
            throw TransportError("'\(directory)' is not a directory; remove it, or set XDG_RUNTIME_DIR")
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw TransportError("cannot open the run directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_dev == before.st_dev, info.st_ino == before.st_ino else {
            throw TransportError("the run directory '\(directory)' changed while ranktop opened it; try again")
        }
        guard info.st_uid == geteuid() else {
            throw TransportError("the run directory '\(directory)' belongs to another user (uid \(info.st_uid)); remove it, or set XDG_RUNTIME_DIR")
        }
        if info.st_mode & 0o077 != 0 { fchmod(fd, 0o700) }
    }

    /// Whether something accepts connections on the socket at `path`.
    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, streamSocketType, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}

#if canImport(Glibc)
let streamSocketType = Int32(SOCK_STREAM.rawValue)
#else
let streamSocketType = SOCK_STREAM
#endif
