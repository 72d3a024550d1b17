import Foundation

/// Waits until `condition` holds, checking it every `every` seconds, or throws after `timeout`
/// naming `what`. The wait is on the condition itself, never a fixed sleep; between checks the
/// task sleeps without holding a thread, since Swift Testing runs every suite on a small pool.
public func waitUntil(
    _ what: String, timeout: Double = 30, every: Double = 0.02, _ condition: () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !(try await condition()) {
        if Date() > deadline { throw TestFailure("timed out after \(timeout) s waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(Int(every * 1000)))
    }
}

/// The same, returning the first value `probe` gives that is not nil.
public func waitFor<T>(
    _ what: String, timeout: Double = 30, every: Double = 0.02, _ probe: () async throws -> T?
) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if let value = try await probe() { return value }
        if Date() > deadline { throw TestFailure("timed out after \(timeout) s waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(Int(every * 1000)))
    }
}

/// Runs blocking or CPU-heavy test code on its own thread. Swift Testing runs every suite on a
/// small shared pool (two threads here); holding one for seconds stalls other suites' tests.
public func offTheTestPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
