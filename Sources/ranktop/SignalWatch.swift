import RanktopTerminal
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Delivers SIGINT, SIGTERM and SIGHUP as a stream instead of killing ranktop, so that it can
/// stop its ranks and its collector cleanly. The process's one owner of those signals: a
/// dashboard shown meanwhile is told to quit rather than catching them too (two owners raced for
/// each signal, and the loser's half of the work was never done). The handlers before it come
/// back when the stream ends.
enum SignalWatch {
    static func stream() -> AsyncStream<Int32> {
        TerminationSignals.stream()
    }

    /// Waits for the first signal of `signals`; returns it. Take the stream before saying the
    /// process is ready: a signal sent the moment it reads "listening" otherwise meets the default
    /// action and kills it without its cleanup (the shm segment was left behind).
    static func first(of signals: AsyncStream<Int32>) async -> Int32 {
        for await number in signals { return number }
        return SIGTERM
    }
}
