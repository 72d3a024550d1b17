import Foundation
import RanktopCollector

/// Runs a program to its end and collects what it wrote: the one process runner of the tests.
public enum ProcessRunner {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// `environment` is added to this process's own. Waits for the child on a thread of its own:
    /// blocking one of the test pool's two threads for a child's life, with several CLI tests at
    /// once, held every other suite still for over 30 s in CI. Spawned with `posix_spawn` and
    /// `ChildSpawn`'s attributes (the child in a process group of its own, no descriptor but its
    /// pipes inherited), not Foundation's `Process`: its `run` crashed the whole test run three
    /// times in fresh-clone CI (SIGSEGV in a `memmove` while it listed `/proc/self/fd`, with some
    /// 3,000 descriptors open), even with spawns serialized.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await offTheTestPool { try runBlocking(executable, arguments, environment: environment) }
    }

    /// The same on the calling thread, for a `defer` (which cannot wait asynchronously): only
    /// for quick tools.
    public static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        guard pipe(&out) == 0 else { throw TestFailure("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&err) == 0 else {
            close(out[0]); close(out[1])
            throw TestFailure("pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec at once (glibc's `pipe2` is hidden from Swift), so no other child keeps a
        // write end open and this reader waiting.
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        ChildSpawn.closeInheritedDescriptors(&actions)
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = ProcessSpawn.locked { ChildSpawn.withAttributes { posix_spawn(&pid, executable, &actions, $0, argv, envp) } }
        close(out[1])
        close(err[1])
        guard spawned == 0 else {
            close(out[0]); close(err[0])
            throw TestFailure("\(executable): \(String(cString: strerror(spawned)))")
        }
        let (stdout, stderr) = drain(out[0], err[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // As `Process.terminationStatus`: the exit code, or the number of the signal that killed it.
        let signal = status & 0x7F
        return Result(status: signal == 0 ? (status >> 8) & 0xFF : signal, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Reads both pipes to their ends at once (a child filling one while we read the other would
    /// block), then closes them.
    private static func drain(_ first: Int32, _ second: Int32) -> ([UInt8], [UInt8]) {
        var outputs: [[UInt8]] = [[], []]
        var open = [first, second]
        var chunk = [UInt8](repeating: 0, count: 65536)
        while open.contains(where: { $0 >= 0 }) {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { break }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let got = chunk.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if got > 0 {
                    outputs[index] += chunk[..<got]
                } else if got == 0 || errno != EINTR {
                    close(open[index])
                    open[index] = -1
                }
            }
        }
        for fd in open where fd >= 0 { close(fd) }
        return (outputs[0], outputs[1])
    }

    /// `ranktop ARGS`.
    public static func ranktop(_ arguments: [String], environment: [String: String] = [:]) async throws -> Result {
        try await run(RanktopExecutable.path, arguments, environment: environment)
    }
}
