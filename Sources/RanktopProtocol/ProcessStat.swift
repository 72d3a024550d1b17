#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The leading fields of `/proc/PID/stat` after the command name: `state ppid pgrp ...`.
/// "pid (comm) S ...": comm may hold anything (spaces, parentheses), so the fields are counted
/// from its last ')'. Only the first 512 bytes are read: the fields wanted here come first.
public enum ProcessStat {
    /// `[state, ppid, pgrp, ...]`, or nil when the process is gone or its stat unreadable.
    public static func fields(of pid: Int) -> [Substring]? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeDescriptor(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0, let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = String(decoding: buffer[(close + 1)..<count], as: UTF8.self).split(separator: " ")
        return fields.isEmpty ? nil : fields
    }

    /// Whether the process is a zombie (state `Z`: dead, not yet reaped).
    public static func isZombie(_ pid: Int) -> Bool {
        fields(of: pid)?.first == "Z"
    }

    /// The process's group.
    public static func processGroup(of pid: Int) -> Int? {
        guard let fields = fields(of: pid), fields.count > 2 else { return nil }
        return Int(fields[2])
    }
}
