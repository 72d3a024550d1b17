#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import RanktopModel
import RanktopProtocol

/// An event log as a timeline: a position anywhere in it, moved by playing, seeking and
/// stepping, and the run model as it stood there. The same `RunModel` (with the live
/// dashboard's limits) folds the same events as a live view would, so a replay at any instant
/// shows what the live screen showed then.
///
/// A first pass on a thread of its own reads the log once at decode speed and leaves
/// checkpoints (`ReplayIndex`) and the notable moments; a seek restores the checkpoint before
/// its target and folds at most one checkpoint spacing of events. The position (`model`,
/// `clock`, `index`) belongs to one thread, the one that moves it; the index is shared.
///
/// The run's clock at a position is the newest timestamp folded so far (the log is in arrival
/// order; a rank's clock may lag another's), so seeking to a time folds every event up to the
/// first whose timestamp would move the clock past it.
public final class ReplayTimeline: @unchecked Sendable {
    public let path: String
    public let stallPolicy: StallPolicy
    /// Keep reading a log that is still being written, at its end.
    public let follow: Bool
    private let shared: NIOLockedValueBox<ReplayIndex>
    private let stopped = NIOLockedValueBox(false)

    private let cursor: EventLogCursor
    /// The model at the position.
    public private(set) var model: RunModel
    /// Events folded into `model`.
    public private(set) var index = 0
    /// The time at the position: where a seek or playback put it, never behind the model's clock.
    public private(set) var clock: Double?
    /// Read but not folded: the event that would move the clock past where it stands.
    private var peeked: Event?

    public static let defaultSpacing = 16_384
    public static let defaultBudgetBytes = 256 << 20

    public init(
        path: String, stallPolicy: StallPolicy = .standard, follow: Bool = false,
        spacing: Int = ReplayTimeline.defaultSpacing, budgetBytes: Int = ReplayTimeline.defaultBudgetBytes
    ) throws(LogReadError) {
        self.path = path
        self.stallPolicy = stallPolicy
        self.follow = follow
        cursor = try EventLogCursor(path: path)
        model = RunModel(limits: .live)
        shared = NIOLockedValueBox(ReplayIndex(spacing: max(1, spacing), budgetBytes: budgetBytes))
    }

    deinit { stopped.withLockedValue { $0 = true } }

    // MARK: The first pass

    /// Starts the first pass on its own thread.
    public func startFirstPass() {
        let (path, policy, follow, shared, stopped) = (path, stallPolicy, follow, shared, stopped)
        DetachedThread.start(name: "ranktop-index", stackSize: 1 << 20) {
            ReplayTimeline.firstPass(path: path, policy: policy, follow: follow, into: shared, until: stopped)
        }
    }

    /// Runs the first pass on this thread (a report, a benchmark, a test).
    public func runFirstPass() {
        ReplayTimeline.firstPass(path: path, policy: stallPolicy, follow: false, into: shared, until: stopped)
    }

    /// Stops a first pass that follows the log.
    public func stop() { stopped.withLockedValue { $0 = true } }

    /// What the first pass found so far.
    public var found: ReplayIndex { shared.withLockedValue { $0 } }

    /// What the first pass found, as a replay's timeline shows it.
    public var overview: ReplayOverview {
        let found = self.found
        var indexed = found.fileSize > 0 ? Double(found.bytesRead) / Double(found.fileSize) : (found.done ? 1 : 0)
        // Following, the first pass is never done: caught up with the file is all it can be.
        if follow, found.bytesRead >= found.fileSize { indexed = 1 }
        return ReplayOverview(
            start: found.firstTs, end: found.lastTs, moments: found.moments, indexed: min(1, indexed), complete: found.done,
            events: found.events, rejected: found.rejected
        )
    }

    /// The log's first and newest timestamps, as far as the first pass has read.
    public var extent: (start: Double, end: Double)? {
        shared.withLockedValue { s in s.firstTs.flatMap { first in s.lastTs.map { (first, $0) } } }
    }

    private static func firstPass(
        path: String, policy: StallPolicy, follow: Bool, into shared: NIOLockedValueBox<ReplayIndex>, until stopped: NIOLockedValueBox<Bool>
    ) {
        let cursor: EventLogCursor
        do { cursor = try EventLogCursor(path: path) } catch {
            shared.withLockedValue { $0.error = error.description; $0.done = true }
            return
        }
        var model = RunModel(limits: .live)
        var finder = NotableMomentFinder(stallPolicy: policy)
        var index = 0
        shared.withLockedValue {
            $0.add(ReplayCheckpoint(index: 0, clock: nil, offset: 0, world: nil, model: model))
            $0.fileSize = cursor.fileSize
        }
        var spacing = shared.withLockedValue { $0.spacing }
        var published = (moments: 0, events: 0)
        func publish(final: Bool) {
            let fileSize = cursor.fileSize
            let (offset, rejected, samples) = (cursor.offset, cursor.rejected, cursor.rejectedSamples)
            let newMoments = finder.moments.count != published.moments || final
            shared.withLockedValue { s in
                s.events = index
                s.firstTs = model.firstTs
                s.lastTs = model.lastTs
                s.bytesRead = offset
                s.fileSize = fileSize
                s.rejected = rejected
                s.rejectedSamples = samples
                // Moments change after they are marked (a late wait straggled): copied whole.
                if newMoments || index - published.events >= 65_536 {
                    s.moments = finder.moments.sorted { $0.time < $1.time }
                    s.momentsOverflow = finder.overflow
                }
            }
            published = (finder.moments.count, index)
        }
        while !stopped.withLockedValue({ $0 }) {
            guard let event = cursor.next() else {
                finder.finish(model: model)
                publish(final: true)
                if !follow { break }
                usleep(100_000)
                continue
            }
            finder.willFold(event, model: model)
            model.apply(event)
            finder.observe(event, model: model)
            index += 1
            if index % spacing == 0 {
                let checkpoint = ReplayCheckpoint(index: index, clock: model.lastTs, offset: cursor.offset, world: cursor.world, model: model)
                spacing = shared.withLockedValue { s in
                    s.add(checkpoint)
                    return s.spacing
                }
            }
            if index % 8192 == 0 { publish(final: false) }
        }
        shared.withLockedValue { $0.done = !follow || $0.done }
    }

    // MARK: Moving the position

    /// Folds on from the position until the clock would pass `time`, at most `limit` events.
    /// Returns true when it got there (the clock is then `time`, or the end of what is read).
    @discardableResult
    public func advance(to time: Double, limit: Int = .max) -> Bool {
        var folded = 0
        while folded < limit {
            guard let event = peeked ?? cursor.next() else {
                // The end of what the log holds: the clock stops at its newest event.
                clock = model.lastTs ?? time
                return true
            }
            if max(model.lastTs ?? event.ts, event.ts) > time {
                peeked = event
                clock = time
                return true
            }
            peeked = nil
            model.apply(event)
            index += 1
            folded += 1
        }
        clock = max(clock ?? -.infinity, model.lastTs ?? -.infinity)
        return false
    }

    /// Live at the end of a followed log: folds what was appended, whatever its timestamps
    /// (a rank's clock may run ahead of this host's), at most `limit` events; the clock is the
    /// wall clock, or the newest event if that is later.
    public func followLive(wall: Double, limit: Int = .max) {
        advance(to: .infinity, limit: limit)
        clock = max(wall, model.lastTs ?? wall)
    }

    /// Whether the position is past the last event read so far (the first pass may know more).
    public var isAtEnd: Bool {
        if peeked != nil { return false }
        if let event = cursor.next() {
            peeked = event
            return false
        }
        return true
    }

    /// Puts the position at `time`: the checkpoint before it, then events up to it.
    public func seek(to time: Double) {
        guard let checkpoint = shared.withLockedValue({ $0.checkpoint(atOrBeforeTime: time) }) else { return }
        // Folding on from here is cheaper than restoring when the target is ahead within reach.
        let ahead = (model.lastTs ?? -.infinity) <= time && checkpoint.index <= index
        if !ahead { restore(checkpoint) }
        clock = nil
        advance(to: time)
    }

    /// Puts the position after the first `target` events.
    public func seek(toEvent target: Int) {
        let target = max(0, target)
        guard let checkpoint = shared.withLockedValue({ $0.checkpoint(atOrBefore: target) }) else { return }
        if !(checkpoint.index <= index && index <= target) { restore(checkpoint) }
        while index < target {
            guard let event = peeked ?? cursor.next() else { break }
            peeked = nil
            model.apply(event)
            index += 1
        }
        clock = model.lastTs
    }

    /// One event forward (`delta` 1) or back (-1), or several.
    public func step(by delta: Int) {
        seek(toEvent: index + delta)
    }

    private func restore(_ checkpoint: ReplayCheckpoint) {
        model = checkpoint.model
        index = checkpoint.index
        peeked = nil
        cursor.seek(to: checkpoint.offset, world: checkpoint.world)
    }
}
