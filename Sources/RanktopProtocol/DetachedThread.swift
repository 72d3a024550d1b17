#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts `body` on a detached POSIX thread of its own. Foundation's `Thread` would do, but it
/// is in full Foundation, which links ICU's data into every binary (tens of MB); ranktop
/// needs a detached thread with a small stack and nothing else.
public enum DetachedThread {
    private final class Box {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    public static func start(name: String, stackSize: Int, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, max(stackSize, Int(PTHREAD_STACK_MIN)))
        let box = Unmanaged.passRetained(Box(name: name, body: body)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let result = pthread_create(&thread, &attributes, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            // Named so that `top -H`, perf and /proc tell its CPU from the rest.
            #if canImport(Darwin)
            pthread_setname_np(String(box.name.prefix(15)))
            #else
            // Glibc's pthread_setname_np and prctl are not visible to Swift; the kernel's file is.
            let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = Array(box.name.utf8.prefix(15)).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            #endif
            box.body()
            return nil
        }, box)
        if result != 0 {
            // No thread to run it on: run nothing rather than the writer on the caller's thread.
            Unmanaged<Box>.fromOpaque(box).release()
        }
    }
}
