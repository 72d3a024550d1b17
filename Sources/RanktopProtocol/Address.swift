/// Where an emitter sends and a collector listens: `unix:/abs/path.sock` (or `unix:///abs/path.sock`),
/// `tcp://host:port`, or `shm://name`.
public enum Address: Sendable, Hashable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)
    case sharedMemory(name: String)

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing text: String) throws(ParseError) {
        if text.hasPrefix("unix:") {
            var path = String(text.dropFirst("unix:".count))
            if path.hasPrefix("//") { path = String(path.dropFirst(2)) }
            guard path.hasPrefix("/") else {
                throw ParseError(description: "'\(text)': a unix address needs an absolute path, e.g. unix:/tmp/ranktop.sock")
            }
            self = .unix(path: path)
        } else if text.hasPrefix("tcp://") {
            let rest = text.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                  (0...65535).contains(port) else {
                throw ParseError(description: "'\(text)': a tcp address needs a host and a port, e.g. tcp://127.0.0.1:29600")
            }
            var host = String(rest[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else {
                throw ParseError(description: "'\(text)': a tcp address needs a host, e.g. tcp://127.0.0.1:29600")
            }
            self = .tcp(host: host, port: port)
        } else if text.hasPrefix("shm://") {
            let name = String(text.dropFirst("shm://".count))
            guard !name.isEmpty, !name.contains("/") else {
                throw ParseError(description: "'\(text)': a shared-memory address needs a name without '/', e.g. shm://run42")
            }
            self = .sharedMemory(name: name)
        } else {
            if text.hasPrefix("/") {
                throw ParseError(description: "'\(text)' is not an address: write a socket path as unix:\(text)")
            }
            throw ParseError(description: "'\(text)' is not an address: use unix:/path.sock or tcp://host:port")
        }
    }

    public var description: String {
        switch self {
        case let .unix(path): "unix:\(path)"
        case let .tcp(host, port): host.contains(":") ? "tcp://[\(host)]:\(port)" : "tcp://\(host):\(port)"
        case let .sharedMemory(name): "shm://\(name)"
        }
    }

    /// True when a TCP address listens only on this machine.
    public var isTCP: Bool {
        if case .tcp = self { return true }
        return false
    }

    public var isSharedMemory: Bool {
        if case .sharedMemory = self { return true }
        return false
    }

    public var isLoopback: Bool {
        switch self {
        case .unix, .sharedMemory: true
        case let .tcp(host, _): host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }
}
