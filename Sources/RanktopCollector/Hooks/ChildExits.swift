import NIOConcurrencyHelpers

/// Exit statuses of child processes reaped by someone other than the code that started them.
/// A launcher reaps with `waitpid(-1)` (any child), so a hook the collector runs in the same
/// process may be reaped there first: the launcher posts what it reaped and is not its own, and
/// the hook's runner takes its status from here.
public enum ChildExits {
    private static let statuses = NIOLockedValueBox<[Int32: Int32]>([:])

    /// A child `pid` that was reaped with `status` (as `waitpid` gives it).
    public static func post(pid: Int32, status: Int32) {
        statuses.withLockedValue { $0[pid] = status }
    }

    /// The status of `pid` if someone else reaped it, taken out.
    public static func take(pid: Int32) -> Int32? {
        statuses.withLockedValue { $0.removeValue(forKey: pid) }
    }
}
