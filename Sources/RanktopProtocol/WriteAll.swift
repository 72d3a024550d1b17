#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes every byte to a file descriptor, retrying short writes and EINTR. Returns how many
/// bytes were written and, when it stopped early, the errno that stopped it.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (written: Int, error: Int32?) {
    guard let base = bytes.baseAddress else { return (0, nil) }
    var offset = 0
    while offset < bytes.count {
        let wrote = write(fd, base + offset, bytes.count - offset)
        if wrote < 0 {
            if errno == EINTR { continue }
            return (offset, errno)
        }
        if wrote == 0 { return (offset, EIO) }
        offset += wrote
    }
    return (offset, nil)
}

/// The same for a string, when the caller has nothing to do about a failure (a message to a
/// closed terminal).
public func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { _ = writeAll(fd, UnsafeRawBufferPointer($0)) }
}
