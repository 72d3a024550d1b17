#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import FoundationEssentials
import NIOConcurrencyHelpers
import RanktopProtocol

/// A run read back from its event log, paced as it happened (`speed` times faster; 0 replays
/// everything at once). Control requests cannot reach a log, so `canControl` is false.
public final class LogReplaySource: RunSource {
    public let path: String
    public let speed: Double
    private let state = NIOLockedValueBox(ReplayState())

    struct ReplayState {
        /// The replayed clock: the ts of the last event handed out, and when (wall clock).
        var lastTs: Double?
        var lastWall: Double = 0
        var finished = false
        var summary: LogReadSummary?
        var error: String?
    }

    public struct NotControllable: Error, CustomStringConvertible {
        public var description: String
    }

    public init(path: String, speed: Double = 1) {
        self.path = path
        self.speed = max(0, speed)
    }

    public var label: String { path }
    public var canControl: Bool { false }

    public func injectTrigger(reason: String?) async throws -> String {
        throw NotControllable(description: "'\(path)' is a replayed log: a trigger cannot reach its run")
    }

    public func requestStack(rank: Int) async throws {
        throw NotControllable(description: "'\(path)' is a replayed log: its ranks cannot be asked for stacks")
    }

    /// What reading found besides events (rejected lines, a truncated tail), once finished.
    public var summary: LogReadSummary? { state.withLockedValue { $0.summary } }
    /// Why reading stopped early, if it did.
    public var readError: String? { state.withLockedValue { $0.error } }

    /// The time in the replayed run: the last event's ts, advanced by wall time at `speed`
    /// until the next event; frozen at the last event once the log is done.
    public func replayedNow(wall: Double = Date().timeIntervalSince1970) -> Double? {
        state.withLockedValue { s in
            guard let ts = s.lastTs else { return nil }
            if s.finished || speed == 0 { return ts }
            return ts + (wall - s.lastWall) * speed
        }
    }

    /// A batch is handed over before each pause of the pacing, and every `batchLimit` events of
    /// a replay that does not pause, so the screen follows a big log as it is read.
    static let batchLimit = 4096

    public func batches() -> AsyncStream<[Event]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [Event].self, bufferingPolicy: .unbounded)
        let cancelled = NIOLockedValueBox(false)
        continuation.onTermination = { _ in cancelled.withLockedValue { $0 = true } }
        // A thread of its own (the read blocks and paces with sleeps), not the cooperative pool.
        DispatchQueue(label: "ranktop-replay").async { [path, speed, state] in
            var previousTs: Double?
            var batch: [Event] = []
            func handOver() {
                guard !batch.isEmpty else { return }
                let newest = batch.map(\.ts).max()!
                state.withLockedValue {
                    $0.lastTs = max($0.lastTs ?? newest, newest)
                    $0.lastWall = Date().timeIntervalSince1970
                }
                continuation.yield(batch)
                batch.removeAll(keepingCapacity: true)
            }
            do {
                let summary = try EventLogReader.read(path: path) { event in
                    if speed > 0, let previous = previousTs, event.ts > previous {
                        handOver()
                        LogReplaySource.sleep(seconds: (event.ts - previous) / speed, unless: cancelled)
                    }
                    if batch.isEmpty, cancelled.withLockedValue({ $0 }) { throw CancellationError() }
                    previousTs = max(previousTs ?? event.ts, event.ts)
                    batch.append(event)
                    if batch.count >= LogReplaySource.batchLimit { handOver() }
                }
                handOver()
                state.withLockedValue { $0.summary = summary }
            } catch is CancellationError {
            } catch {
                handOver()
                state.withLockedValue { $0.error = "\(error)" }
            }
            state.withLockedValue { $0.finished = true }
            continuation.finish()
        }
        return stream
    }

    /// Sleeps in short slices so a cancelled replay stops promptly.
    private static func sleep(seconds: Double, unless cancelled: NIOLockedValueBox<Bool>) {
        var left = seconds
        while left > 0, !cancelled.withLockedValue({ $0 }) {
            let slice = min(left, 0.05)
            usleep(UInt32(slice * 1_000_000))
            left -= slice
        }
    }
}
