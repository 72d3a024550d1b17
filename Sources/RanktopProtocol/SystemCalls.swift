#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `close(2)`, for types that have a `close()` of their own.
@inline(__always)
public func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}
