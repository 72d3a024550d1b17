import RanktopCollector
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

/// The processes of a run, on this host, that left the process groups ranktop signals. torchrun
/// starts every worker in a session of its own, so when ranktop kills torchrun's group (a second
/// Ctrl-C), workers hung in a collective live on as orphans, holding GPUs and the terminal's
/// output. Every process of the run carries the run's `RANKTOP_RUN` in its environment, which
/// names it even after its pid's parent is gone, and which a reused pid does not have.
enum EscapedRunProcesses {
    /// The pids whose environment holds `RANKTOP_RUN=runID` and whose process group is none of
    /// `groups` (those are signalled already), ranktop itself left out.
    static func find(runID: String, outside groups: Set<pid_t>) -> [pid_t] {
        let entry = Array("RANKTOP_RUN=\(runID)".utf8)
        let me = getpid()
        var found: [pid_t] = []
        for name in directoryNames("/proc") {
            guard let pid = pid_t(name), pid > 0, pid != me else { continue }
            guard let group = ProcessStat.processGroup(of: Int(pid)), !groups.contains(pid_t(truncatingIfNeeded: group)) else { continue }
            if environment(of: pid, holds: entry) { found.append(pid) }
        }
        return found.sorted()
    }

    /// SIGKILL to each; how many were still there to get it.
    static func kill(_ pids: [pid_t]) -> Int {
        pids.reduce(0) { count, pid in Glibc.kill(pid, SIGKILL) == 0 ? count + 1 : count }
    }

    /// Whether one of the NUL-separated entries of `/proc/PID/environ` is exactly `entry`.
    /// Unreadable (another user's process, or gone): no.
    private static func environment(of pid: pid_t, holds entry: [UInt8]) -> Bool {
        guard let environ = readFile("/proc/\(pid)/environ", limit: 4 << 20) else { return false }
        return environ.split(separator: 0).contains { $0.elementsEqual(entry) }
    }

    private static func readFile(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}
