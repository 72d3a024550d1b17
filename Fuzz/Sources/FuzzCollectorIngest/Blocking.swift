import Dispatch
import Synchronization

/// Runs `body` to completion from synchronous code (libFuzzer's callback) on Swift's pool.
/// The caller is never a pool thread, so waiting here cannot starve `body`.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let result = Mutex<T?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let value = await body()
        result.withLock { $0 = value }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}
