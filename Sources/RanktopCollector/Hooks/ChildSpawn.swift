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
}
