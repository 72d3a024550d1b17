import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Delivers SIGINT / SIGTERM as a stream instead of killing ranktop, so that it can stop its
/// ranks and its collector cleanly. The default actions come back when the stream ends.
enum SignalWatch {
    static func stream(_ signals: [Int32] = [SIGINT, SIGTERM]) -> AsyncStream<Int32> {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let sources = SignalSources(signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        })
        continuation.onTermination = { _ in
            for source in sources.all {
                source.cancel()
                signal(Int32(source.handle), SIG_DFL)
            }
        }
        return stream
    }

    /// Waits for the first of `signals`; returns it.
    static func next(_ signals: [Int32] = [SIGINT, SIGTERM]) async -> Int32 {
        for await number in stream(signals) { return number }
        return SIGTERM
    }
}

/// Dispatch sources are thread-safe (cancel may be called from any thread); Swift's Dispatch
/// overlay just does not say so.
private struct SignalSources: @unchecked Sendable {
    let all: [any DispatchSourceSignal]
    init(_ all: [any DispatchSourceSignal]) { self.all = all }
}
