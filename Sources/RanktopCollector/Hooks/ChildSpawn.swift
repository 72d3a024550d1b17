#if canImport(Glibc)
import Glibc
#endif

/// What every process ranktop starts (a rank, a hook) is spawned with: its own process group, so
/// a signal reaches its children too and the terminal's Ctrl-C reaches only ranktop; and the
/// signals ranktop ignores or forwards (SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT) back at their
/// defaults, none blocked, since a child would otherwise inherit that.
public enum ChildSpawn {
    public static func withAttributes<T>(_ body: (UnsafePointer<posix_spawnattr_t>) throws -> T) rethrows -> T {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        return try body(&attributes)
    }

    /// Closes every descriptor above stderr in the child. NIO's listening and accepted sockets
    /// are not close-on-exec: a rank that inherited the collector's listening socket kept it
    /// listening after the collector died (`kill -9`), so the ranks' reconnects queued on a
    /// socket nobody would accept, and a restarted collector found the address in use.
    ///
    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np` (hidden from Swift behind
    /// `__USE_MISC`), looked up at run time; without it, every open descriptor above stderr is
    /// marked close-on-exec instead (racy against other threads opening descriptors, but those
    /// are not the collector's sockets, which exist before any rank is spawned).
    public static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let closeFrom = addCloseFrom {
            _ = closeFrom(&actions, 3)
            return
        }
        for name in directoryNames("/proc/self/fd") {
            if let fd = Int32(name), fd > 2 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
}
