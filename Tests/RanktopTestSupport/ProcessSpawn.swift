import Foundation

/// Starts a `Process`, one at a time across the test process. Foundation's `Process.run` on
/// Linux lists `/proc/self/fd` to close the child's inherited descriptors; with tests opening
/// descriptors and spawning on many threads at once, that list was overrun and the whole test
/// run crashed (SIGSEGV in `Process.run`, a fresh-clone CI, 3,060 descriptors open).
public enum ProcessSpawn {
    private static let lock = NSLock()

    public static func run(_ process: Process) throws {
        try locked { try process.run() }
    }

    /// `body` while no other test process is being started.
    public static func locked<T>(_ body: () throws -> T) rethrows -> T {
        try lock.withLock(body)
    }
}
