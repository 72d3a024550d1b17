import Atomics
import Dispatch
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Takes a segment's records into the collector, from one of two places: its own thread, every
/// `interval`; or a viewer feed about to read the log, which takes what the rings hold first.
/// While a viewer feed reads on its cadence, the thread only backs it up (every
/// `backupInterval`, or at once when a feed found the rings busy).
///
/// Why: at 1,000 events/s with a dashboard attached the collector woke twice each 20 ms, once on
/// this thread for the rings and once on the viewer's event loop for the log, and on this VM each
/// wake costs more than the work it does (docs/benchmarks.md, "One wake for the rings and the
/// viewer"). A feed that polls the rings just before it reads also shows their records a poll
/// sooner.
///
/// The follower is not thread-safe: whoever takes `polling` (an atomic flag, so an event loop
/// never waits for the thread's pass) is the only one in it.
final class ShmIngest: @unchecked Sendable {
    private let follower: ShmSegmentFollower
    let interval: Double
    private let polling = ManagedAtomic<Bool>(false)
    private let stopping = ManagedAtomic<Bool>(false)
    /// `MonotonicClock.now` of the last pass a viewer feed made, as its bit pattern.
    private let lastReaderPass = ManagedAtomic<UInt64>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// How often the thread looks while viewer feeds poll: what bounds an event's wait if every
    /// feed goes quiet at once.
    static let backupInterval = 0.1
    /// Records a viewer feed's pass takes from one area: it runs on an event loop, which must not
    /// spend long on a backlog; the thread drains the rest.
    static let readerRecordsPerArea = 256

    init(follower: ShmSegmentFollower, interval: Double) {
        self.follower = follower
        self.interval = interval
    }

    /// The thread, until `stop`: then the rings are drained to their end.
    func start() {
        DetachedThread.start(name: "ranktop-shm-in", stackSize: 512 * 1024) { [self] in
            var moved = 0
            while !stopping.load(ordering: .relaxed) {
                if moved < ShmRelay.busyPass {
                    let readerActive = MonotonicClock.now - lastReaderPassTime < 2 * interval
                    let signalled = wake.wait(timeout: .now() + (readerActive ? ShmIngest.backupInterval : interval)) == .success
                    if stopping.load(ordering: .relaxed) { break }
                    // A feed passed over the rings within the interval: nothing waits for this thread.
                    if !signalled, MonotonicClock.now - lastReaderPassTime < interval {
                        moved = 0
                        continue
                    }
                }
                moved = pass(limit: nil)?.moved ?? 0
            }
            // Held for good: no feed's pass comes after the last drain.
            while !polling.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { usleep(200) }
            follower.drainToEnd(markLost: false)
            finished.signal()
        }
    }

    /// A viewer feed is about to read the log: take what the rings hold now, unless the thread
    /// is in a pass (then its records are on their way).
    func passForReader() {
        guard !stopping.load(ordering: .relaxed), let taken = pass(limit: ShmIngest.readerRecordsPerArea) else { return }
        lastReaderPass.store(MonotonicClock.now.bitPattern, ordering: .relaxed)
        // A backlog is the thread's to drain, off the event loop.
        if taken.cut { wake.signal() }
    }

    /// Ends the thread after its last drain; returns once it is done.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        wake.signal()
        finished.wait()
    }

    private var lastReaderPassTime: Double { Double(bitPattern: lastReaderPass.load(ordering: .relaxed)) }

    /// One pass, if nobody else is in one (nil then): the records taken, and whether an area
    /// kept records past the limit.
    private func pass(limit: Int?) -> (moved: Int, cut: Bool)? {
        guard polling.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return nil }
        defer { polling.store(false, ordering: .releasing) }
        let moved = follower.poll(limit: limit)
        return (moved, follower.lastPassWasCut)
    }
}
