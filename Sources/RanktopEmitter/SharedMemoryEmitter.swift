import Atomics
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RanktopProtocol

/// A rank's events into its area of the node's shared-memory segment (docs/protocol.md,
/// "Shared-memory layout"): encoded on the caller's thread and stored into the ring, with the
/// state block kept current, so a reader attaching at any time (or after the rank died) knows
/// where it was. No lock, no system call, never a wait: a full ring overwrites its oldest records.
///
/// A thread looks at the segment's control block every 50 ms (a load from memory) and hands the
/// rank's injections and stack requests to `onControl`. No heartbeats: a reader on this node
/// knows a rank is alive from its pid.
final class SharedMemoryEmitter: Sendable {
    let rank: Int
    let segment: ShmSegment
    let area: ShmRankArea
    // The emit path's atomics are `UnsafeAtomic`s this object owns (destroyed in `deinit`): a
    // `ManagedAtomic` reached its storage through an indirect call each use, three an emit.
    /// Also the count of events produced: every one takes a seq, dropped or not.
    private let nextSeq = UnsafeAtomic<Int>.create(1)
    /// Shared with the control poller's thread, which may outlive this object by a moment.
    private let stopping = ManagedAtomic<Bool>(false)
    /// The blocking collective the state block holds (`n`, -1: none, and its group's hash): an
    /// async op's exit, or another group's, leaves it in place.
    private let openCollectiveN = UnsafeAtomic<Int>.create(-1)
    private let openCollectiveGroup = UnsafeAtomic<Int>.create(0)
    /// Whether the state block holds an open barrier (read here, not copied out of the block).
    private let barrierOpen = UnsafeAtomic<Bool>.create(false)
    private let pollerDone = DispatchSemaphore(value: 0)
    static let controlPollInterval = 0.05
    /// Stack requests older than this are history, not questions.
    static let staleStackRequest = 10.0
    /// Injections this much older than the rank's start belong to an earlier run that left its
    /// segment (a crash) under the same name: they must not stop this one.
    static let staleInjection = 600.0

    init(name requested: String, rank: Int, hello: Hello, onControl: @escaping @Sendable (ControlLine) -> Void) throws(ShmSegment.Failure) {
        self.rank = rank
        // The file's mode is the access control; a token has no business in shared memory.
        var hello = hello
        hello.token = nil
        let name = requested == "auto" ? ShmSegment.autoName(run: hello.run) : requested
        let environment = ShmEnvironment.current
        let segment = try ShmSegment.openOrCreate(
            name: name, rankCapacity: max(environment.rankCapacity, hello.localWorld), ringSlots: environment.ringSlots
        )
        let area = try segment.withLock { () throws(ShmSegment.Failure) -> ShmRankArea in
            guard let area = ShmRankArea.choose(in: segment, rank: rank, localRank: hello.localRank) else {
                throw ShmSegment.Failure("every one of the \(segment.rankCapacity) rank areas of \(segment.path) is taken by a live process")
            }
            area.claim(pid: Int(getpid()), rank: rank)
            return area
        }
        self.segment = segment
        self.area = area
        write(.hello(hello), ts: WallClock.now, seq: 0)
        let control = segment.control
        let stopping = stopping, pollerDone = pollerDone
        DetachedThread.start(name: "ranktop-shm-ctl", stackSize: 128 * 1024) {
            SharedMemoryEmitter.pollControl(control, rank: rank, stopping: stopping, onControl: onControl)
            pollerDone.signal()
        }
    }

    deinit {
        nextSeq.destroy()
        openCollectiveN.destroy()
        openCollectiveGroup.destroy()
        barrierOpen.destroy()
    }

    @inline(__always)
    func emit(_ body: EventBody) {
        let seq = nextSeq.loadThenWrappingIncrement(ordering: .relaxed)
        guard !stopping.load(ordering: .relaxed) else { return }
        let micros = WallClock.microseconds
        // The record's `ts` text and the state block's `ts` are the same microsecond.
        write(body, ts: Double(micros) / 1e6, micros: micros, seq: seq)
    }

    /// Encodes (on the stack for the frequent kinds), stores the record, then the state block's
    /// copy and scalars.
    private func write(_ body: borrowing EventBody, ts: Double, micros: Int? = nil, seq: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { scratch in
            var encoder = ShmRecordEncoder(scratch)
            if ShmRecordEncoder.encode(body, rank: rank, ts: ts, micros: micros, seq: seq, into: &encoder) {
                store(body, ts: ts, seq: seq, encoder.bytes)
            } else {
                var line: [UInt8] = []
                EventEncoder.encode(Event(rank: rank, ts: ts, seq: seq, copy body), into: &line)
                line.removeLast()
                line.withUnsafeBytes { store(body, ts: ts, seq: seq, $0) }
            }
        }
    }

    private func store(_ body: borrowing EventBody, ts: Double, seq: Int, _ bytes: UnsafeRawBufferPointer) {
        area.write(record: bytes)
        area.noteEvent(ts: ts, seq: seq)
        switch body {
        case .hello:
            area.setState(.hello, to: bytes)
        case let .progress(progress):
            area.noteProgress(ts: ts, step: progress.step, total: progress.total)
            area.setState(.progress, to: bytes)
            // A step ends every collective the rank was in (the model's rule too).
            if openCollectiveN.exchange(-1, ordering: .relaxed) >= 0 {
                area.clearState(.collective)
                area.noteWait(since: barrierOpen.load(ordering: .relaxed) ? area.waitSince : nil)
            }
        case .barrierEnter:
            barrierOpen.store(true, ordering: .relaxed)
            area.setState(.barrier, to: bytes)
            area.noteWait(since: ts)
        case .barrierExit:
            barrierOpen.store(false, ordering: .relaxed)
            area.clearState(.barrier)
            area.noteWait(since: nil)
        case let .collectiveEnter(enter) where enter.isAsync != true:
            openCollectiveGroup.store(enter.group.hashValue, ordering: .relaxed)
            openCollectiveN.store(enter.n, ordering: .relaxed)
            area.setState(.collective, to: bytes)
            area.noteWait(since: ts)
        case let .collectiveExit(exit):
            let open = openCollectiveN.load(ordering: .relaxed)
            guard open >= 0, exit.n >= open, exit.group.hashValue == openCollectiveGroup.load(ordering: .relaxed) else { break }
            openCollectiveN.store(-1, ordering: .relaxed)
            area.clearState(.collective)
            area.noteWait(since: barrierOpen.load(ordering: .relaxed) ? area.waitSince : nil)
        case .phaseEnter:
            area.setState(.phase, to: bytes)
        case .phaseExit:
            area.clearState(.phase)
        case .bye:
            area.noteBye()
        default:
            break
        }
    }

    func close(timeout: Double) {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        _ = pollerDone.wait(timeout: .now() + min(max(timeout, 0), 0.2))
        if area.saidBye { ShmCleanup.removeIfEveryRankSaidBye(segment) }
    }

    var statistics: EmitterStatistics {
        EmitterStatistics(produced: nextSeq.load(ordering: .relaxed), dropped: area.writerDropped, connections: 1, connected: true)
    }

    private static func pollControl(
        _ control: ShmControlBlock, rank: Int, stopping: ManagedAtomic<Bool>, onControl: @Sendable (ControlLine) -> Void
    ) {
        var next: UInt64 = 0
        var pendingSince: Double?
        let started = WallClock.now
        while !stopping.load(ordering: .relaxed) {
            let count = control.count
            if count > next + UInt64(ShmLayout.controlSlots) { next = count - UInt64(ShmLayout.controlSlots) }
            reading: while next < count {
                switch control.read(next) {
                case let .entry(entry):
                    pendingSince = nil
                    next += 1
                    guard entry.target == -1 || entry.target == rank, let line = ControlLine.parse(entry.line) else { continue }
                    switch line {
                    case .stackRequest where WallClock.now - entry.ts > staleStackRequest: continue
                    case .inject where entry.ts < started - staleInjection: continue
                    default: onControl(line)
                    }
                case .gone:
                    next += 1
                case .pending:
                    // A dashboard between reserving the slot and completing it; one that died
                    // there is given up on.
                    let now = MonotonicClock.now
                    if let since = pendingSince, now - since > 0.5 {
                        next += 1
                        pendingSince = nil
                    } else {
                        if pendingSince == nil { pendingSince = now }
                        break reading
                    }
                }
            }
            usleep(useconds_t(controlPollInterval * 1_000_000))
        }
    }
}

/// `RANKTOP_SHM_SLOTS` and `RANKTOP_SHM_RANKS`: the geometry of a segment this process creates.
struct ShmEnvironment {
    var ringSlots = ShmLayout.defaultRingSlots
    var rankCapacity = ShmLayout.defaultRankCapacity

    static var current: ShmEnvironment {
        var environment = ShmEnvironment()
        if let text = getenv("RANKTOP_SHM_SLOTS").map({ String(cString: $0) }), let slots = Int(text), slots > 0 {
            environment.ringSlots = slots
        }
        if let text = getenv("RANKTOP_SHM_RANKS").map({ String(cString: $0) }), let ranks = Int(text), ranks > 0 {
            environment.rankCapacity = ranks
        }
        return environment
    }
}
