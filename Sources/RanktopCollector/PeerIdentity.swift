#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who is on the other end of a connection, as far as the kernel can tell.
///
/// Over a Unix socket the kernel names the peer's uid and pid (`SO_PEERCRED`), so the collector
/// can admit this user's own processes without a token and refuse everyone else, as ssh-agent
/// does. Over TCP nothing is known beyond the address: a token is the only proof.
public struct PeerIdentity: Sendable, Equatable, CustomStringConvertible {
    public enum Origin: Sendable, Equatable {
        /// A Unix-socket peer with the kernel's credentials.
        case local(uid: UInt32, pid: Int32)
        /// A Unix-socket peer whose credentials could not be read.
        case unverifiedLocal
        /// A TCP peer: `host:port`.
        case network(String)
    }

    public var origin: Origin

    public init(_ origin: Origin) {
        self.origin = origin
    }

    /// This user's own process, or root's.
    public var isTrustedLocal: Bool {
        if case let .local(uid, _) = origin { return uid == getuid() || uid == 0 }
        return false
    }

    public var isNetwork: Bool {
        if case .network = origin { return true }
        return false
    }

    /// `user@host` from the kernel's credentials, for the `by` of an injection; nil when the
    /// peer's identity is only what it claims.
    public var verifiedUser: String? {
        guard case let .local(uid, _) = origin else { return nil }
        return "\(PeerIdentity.userName(uid: uid))@\(PeerIdentity.hostName())"
    }

    public var description: String {
        switch origin {
        case let .local(uid, pid): "uid \(uid) (\(PeerIdentity.userName(uid: uid))) pid \(pid)"
        case .unverifiedLocal: "a local socket"
        case let .network(address): address
        }
    }

    static func userName(uid: UInt32) -> String {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 1024)
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name {
            return String(cString: name)
        }
        return "uid\(uid)"
    }

    public static func hostName() -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}
