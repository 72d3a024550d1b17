#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import RanktopModel
import RanktopProtocol

/// Runs a hook: `/bin/sh -c COMMAND` in its own process group, with the alert in the
/// environment (`RANKTOP_EVENT`, `RANKTOP_DIAGNOSIS`, `RANKTOP_RUN`, `RANKTOP_LOG`,
/// `RANKTOP_RANKS`) and as one JSON object on its stdin, so `curl --data @- URL` posts it. On a
/// thread of its own: a hook that fails or hangs is killed at its timeout and reported through
/// `warn`, and the collector never waits for it.
enum HookRunner {
    static func run(
        _ command: String, alert: RunAlert, run: String?, log: String, timeout: Double, warn: @escaping @Sendable (String) -> Void,
        done: @escaping @Sendable () -> Void
    ) {
        let payload = JSONValue.object([
            ("event", .string(alert.kind.rawValue)),
            ("run", run.map(JSONValue.string) ?? .null),
            ("log", .string(log)),
            ("ts", .double(alert.at)),
            ("diagnosis", .string(alert.diagnosis)),
            ("ranks", .array(alert.ranks.prefix(4096).map { .int($0) })),
        ]).serialized + "\n"
        var environment = ProcessInfo.processInfo.environment
        environment["RANKTOP_EVENT"] = alert.kind.rawValue
        environment["RANKTOP_DIAGNOSIS"] = alert.diagnosis
        environment["RANKTOP_RUN"] = run ?? ""
        environment["RANKTOP_LOG"] = log
        environment["RANKTOP_RANKS"] = alert.ranks.text()
        let hookEnvironment = environment
        DetachedThread.start(name: "ranktop-hook", stackSize: 256 * 1024) {
            let label = "--on-\(alert.kind.rawValue) hook"
            defer { done() }
            do {
                let outcome = try execute(command, environment: hookEnvironment, stdin: payload, timeout: timeout)
                switch outcome {
                case .exited(0): break
                case let .exited(code): warn("\(label) exited with status \(code): \(command)")
                case let .killed(signal): warn("\(label) was killed by signal \(signal): \(command)")
                case .timedOut: warn("\(label) did not finish in \(Format.duration(timeout)) and was killed: \(command)")
                }
            } catch {
                warn("\(label) could not run: \(error)")
            }
        }
    }

    enum Outcome: Equatable {
        case exited(Int32)
        case killed(Int32)
        case timedOut
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Spawns, feeds stdin, waits at most `timeout`; blocks the calling thread.
    static func execute(_ command: String, environment: [String: String], stdin payload: String, timeout: Double) throws -> Outcome {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, readEnd, 0)
        posix_spawn_file_actions_addclose(&actions, readEnd)
        // Its output is the user's to redirect; by default it goes where ranktop's stderr goes.
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        ChildSpawn.closeInheritedDescriptors(&actions)
        let words: [String] = ["/bin/sh", "-c", command]
        let arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let env: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in env { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = ChildSpawn.withAttributes { posix_spawn(&pid, "/bin/sh", &actions, $0, arguments, env) }
        close(readEnd)
        guard spawned == 0 else {
            close(writeEnd)
            throw SpawnError(description: "/bin/sh: \(String(cString: strerror(spawned)))")
        }
        // A hook that does not read its stdin must not block us: the write end is non-blocking
        // and what does not fit the pipe is dropped.
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        let bytes = Array(payload.utf8)
        _ = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
        close(writeEnd)
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return outcome(status) }
            if reaped < 0, errno == ECHILD {
                // Reaped by a launcher's waitpid(-1), which posts what is not its own.
                if let status = ChildExits.take(pid: pid) { return outcome(status) }
            }
            if Date() >= deadline {
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                _ = ChildExits.take(pid: pid)
                return .timedOut
            }
            usleep(20_000)
        }
    }

    private static func outcome(_ status: Int32) -> Outcome {
        let signal = status & 0x7F
        return signal == 0 ? .exited((status >> 8) & 0xFF) : .killed(signal)
    }
}
