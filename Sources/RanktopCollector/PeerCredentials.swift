import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads who is connected from the kernel: `SO_PEERCRED` on a Unix socket, the address on TCP.
enum PeerCredentials {
    static func identify(_ channel: any Channel) -> PeerIdentity {
        if let remote = channel.remoteAddress, remote.protocol != .unix {
            return PeerIdentity(.network(remote.description))
        }
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return PeerIdentity(.unverifiedLocal) }
        // Runs on the channel's event loop (channelActive), where the future is already complete.
        let future: EventLoopFuture<KernelCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
        )
        var credentials: KernelCredentials?
        future.assumeIsolated().whenSuccess { credentials = $0 }
        guard let credentials else { return PeerIdentity(.unverifiedLocal) }
        return PeerIdentity(.local(uid: credentials.uid, pid: credentials.pid))
        #else
        return PeerIdentity(.unverifiedLocal)
        #endif
    }

    /// Linux's `struct ucred`, which Glibc's module map leaves out (it needs _GNU_SOURCE).
    struct KernelCredentials: Sendable {
        var pid: Int32
        var uid: UInt32
        var gid: UInt32
    }
}
