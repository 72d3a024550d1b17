import NIOConcurrencyHelpers
import FoundationEssentials
import RanktopCollector
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The processes of a run that ranktop started: spawned each in its own process group (so that
/// signals reach a rank's own children too, and the terminal's Ctrl-C reaches only ranktop, which
/// forwards it once), reaped by one thread, stopped together.
final class RankProcesses: Sendable {
    struct Spec: Sendable {
        /// `rank 3`, or the command's name for `run`.
        var label: String
        var arguments: [String]
        var environment: [String: String]
        /// stdout and stderr go here when set (the dashboard owns the terminal); else inherited.
        var outputPath: String?
    }

    /// How a process ended, as a shell reports it.
    struct Exit: Sendable, Equatable {
        var label: String
        /// The exit code, or 128 + the signal that killed it.
        var status: Int32
        var signal: Int32?

        var description: String {
            if let signal { return "\(label) was killed by \(signalName(signal)) (status \(status))" }
            return "\(label) exited with status \(status)"
        }
    }

    private struct State {
        var pids: [pid_t] = []
        var exits: [pid_t: Exit] = [:]
        var order: [Exit] = []
        var waiters: [CheckedContinuation<[Exit], Never>] = []
    }

    private let specs: [Spec]
    private let state = NIOLockedValueBox(State())
    /// Called once per process, on the reaper thread, as it exits.
    private let onExit: @Sendable (Exit) -> Void

    /// Spawns every process; if one cannot start, the ones already started are killed and the
    /// error says why.
    init(_ specs: [Spec], onExit: @escaping @Sendable (Exit) -> Void = { _ in }) throws {
        self.specs = specs
        self.onExit = onExit
        var started: [pid_t] = []
        for spec in specs {
            do {
                started.append(try RankProcesses.spawn(spec))
            } catch {
                for pid in started { kill(-pid, SIGKILL) }
                for pid in started { var status: Int32 = 0; waitpid(pid, &status, 0) }
                throw error
            }
        }
        state.withLockedValue { $0.pids = started }
        DetachedThread.start(name: "ranktop-reaper", stackSize: 256 * 1024) { [self] in reap() }
    }

    var count: Int { specs.count }

    /// The process groups ranktop signals: each process was spawned as the leader of its own.
    var groups: Set<pid_t> { Set(state.withLockedValue { $0.pids }) }

    /// Processes still running.
    var running: Int { state.withLockedValue { $0.pids.count - $0.exits.count } }

    /// Exits in the order they happened.
    var exits: [Exit] { state.withLockedValue { $0.order } }

    /// Waits until every process has exited; returns their exits in the order they happened.
    func waitAll() async -> [Exit] {
        await withCheckedContinuation { continuation in
            let done: [Exit]? = state.withLockedValue { state in
                if state.exits.count == state.pids.count { return state.order }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Sends `signal` to every running process's group, the first one started (rank 0) last: it
    /// hosts the rendezvous the others wait on, and going first it could cut them off mid-collective
    /// (a failure of theirs) before their own signal arrives.
    func signalAll(_ signal: Int32) {
        let living = state.withLockedValue { state in state.pids.filter { state.exits[$0] == nil } }
        for pid in living.reversed() { kill(-pid, signal) }
    }

    /// SIGTERM to everything still running `after` seconds from now, SIGKILL `grace` seconds
    /// later.
    func stop(grace: Double, after wait: Double = 0) async {
        await waitForExits(upTo: wait)
        guard running > 0 else { return }
        signalAll(SIGTERM)
        await waitForExits(upTo: grace)
        if running > 0 { signalAll(SIGKILL) }
        _ = await waitAll()
    }

    private func waitForExits(upTo seconds: Double) async {
        let deadline = Date().addingTimeInterval(seconds)
        while running > 0, Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
    }

    private func reap() {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, 0)
            if pid < 0 {
                if errno == EINTR { continue }
                return
            }
            let outcome: (exit: Exit, waiters: [CheckedContinuation<[Exit], Never>], all: [Exit]?)? = state.withLockedValue { state in
                guard let index = state.pids.firstIndex(of: pid) else { return nil }
                let termination = status & 0x7F
                let record = termination == 0
                    ? Exit(label: specs[index].label, status: (status >> 8) & 0xFF, signal: nil)
                    : Exit(label: specs[index].label, status: 128 + termination, signal: termination)
                state.exits[pid] = record
                state.order.append(record)
                guard state.exits.count == state.pids.count else { return (record, [], nil) }
                defer { state.waiters = [] }
                return (record, state.waiters, state.order)
            }
            guard let outcome else {
                // Not a rank: a hook the collector runs, whose runner waits for this status.
                ChildExits.post(pid: pid, status: status)
                continue
            }
            onExit(outcome.exit)
            if let all = outcome.all {
                for waiter in outcome.waiters { waiter.resume(returning: all) }
                return
            }
        }
    }

    private static func spawn(_ spec: Spec) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output = spec.outputPath {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        ChildSpawn.closeInheritedDescriptors(&actions)

        let arguments = spec.arguments.map { strdup($0) } + [nil]
        let environment = spec.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in arguments { free(pointer) }
            for pointer in environment { free(pointer) }
        }
        var pid: pid_t = 0
        let result = ChildSpawn.withAttributes { posix_spawnp(&pid, spec.arguments[0], &actions, $0, arguments, environment) }
        guard result == 0 else {
            let reason = String(cString: strerror(result))
            throw CLIFailure(message: "cannot run '\(spec.arguments[0])' (\(spec.label)): \(reason)", exitCode: result == ENOENT ? 127 : 126)
        }
        return pid
    }
}

func signalName(_ number: Int32) -> String {
    switch number {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    case SIGKILL: "SIGKILL"
    case SIGSEGV: "SIGSEGV"
    case SIGABRT: "SIGABRT"
    case SIGHUP: "SIGHUP"
    case SIGBUS: "SIGBUS"
    case SIGPIPE: "SIGPIPE"
    default: "signal \(number)"
    }
}
