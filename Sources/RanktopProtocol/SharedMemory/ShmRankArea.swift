import Atomics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One rank's area of a segment: its state block and its ring (docs/protocol.md). A value: the
/// segment (which keeps the mapping alive), two pointers and the ring's size; every writer and
/// reader of the area goes through it.
public struct ShmRankArea: @unchecked Sendable {
    public let segment: ShmSegment
    public let base: UnsafeMutableRawPointer
    public let ringSlots: Int
    public let index: Int
    let ring: UnsafeMutableRawPointer
    let mask: UInt64

    init(segment: ShmSegment, base: UnsafeMutableRawPointer, ringSlots: Int, index: Int) {
        self.segment = segment
        self.base = base
        self.ringSlots = ringSlots
        self.index = index
        ring = base + ShmLayout.stateBytes
        mask = UInt64(ringSlots - 1)
    }

    typealias S = ShmLayout.State

    @inline(__always)
    func atomic64(_ offset: Int) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: (base + offset).assumingMemoryBound(to: UInt64.AtomicRepresentation.self))
    }

    @inline(__always)
    func atomic32(_ offset: Int) -> UnsafeAtomic<UInt32> {
        UnsafeAtomic(at: (base + offset).assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
    }

    @inline(__always)
    func slot(_ index: UInt64) -> UnsafeMutableRawPointer { ring + Int(index & mask) * ShmLayout.slotBytes }

    @inline(__always)
    func stamp(_ slot: UnsafeMutableRawPointer) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: slot.assumingMemoryBound(to: UInt64.AtomicRepresentation.self))
    }

    // MARK: the state block's scalars

    public var head: UInt64 { atomic64(S.head).load(ordering: .acquiring) }
    public var pid: Int { Int(atomic32(S.pid).load(ordering: .acquiring)) }
    public var generation: UInt32 { atomic32(S.generation).load(ordering: .acquiring) }
    public var rank: Int { Int(base.load(fromByteOffset: S.rank, as: Int32.self)) }
    public var saidBye: Bool { atomic32(S.flags).load(ordering: .acquiring) & S.byeFlag != 0 }
    public var lastTs: Double { base.load(fromByteOffset: S.lastTs, as: Double.self) }
    public var lastProgressTs: Double { base.load(fromByteOffset: S.lastProgressTs, as: Double.self) }
    public var lastSeq: Int { Int(truncatingIfNeeded: base.load(fromByteOffset: S.lastSeq, as: UInt64.self)) }
    public var step: Int? { nonNegative(base.load(fromByteOffset: S.step, as: Int64.self)) }
    public var total: Int? { nonNegative(base.load(fromByteOffset: S.total, as: Int64.self)) }
    public var writerDropped: Int { Int(truncatingIfNeeded: atomic64(S.dropped).load(ordering: .relaxed)) }
    public var waitSince: Double? {
        let since = base.load(fromByteOffset: S.waitSince, as: Double.self)
        return since > 0 ? since : nil
    }

    private func nonNegative(_ value: Int64) -> Int? { value >= 0 ? Int(value) : nil }

    // MARK: claiming (under the segment's lock)

    /// Takes the area for this process: new pid and rank, flags, steps and state records cleared,
    /// generation + 1, head kept (readers' positions stay valid).
    public func claim(pid: Int, rank: Int) {
        base.storeBytes(of: Int32(truncatingIfNeeded: rank), toByteOffset: S.rank, as: Int32.self)
        atomic32(S.flags).store(0, ordering: .relaxed)
        base.storeBytes(of: 0.0, toByteOffset: S.lastTs, as: Double.self)
        base.storeBytes(of: 0.0, toByteOffset: S.lastProgressTs, as: Double.self)
        base.storeBytes(of: UInt64(0), toByteOffset: S.lastSeq, as: UInt64.self)
        base.storeBytes(of: Int64(-1), toByteOffset: S.step, as: Int64.self)
        base.storeBytes(of: Int64(-1), toByteOffset: S.total, as: Int64.self)
        atomic64(S.dropped).store(0, ordering: .relaxed)
        base.storeBytes(of: 0.0, toByteOffset: S.waitSince, as: Double.self)
        for record in ShmLayout.StateRecord.allCases { clearState(record) }
        atomic32(S.generation).wrappingIncrement(ordering: .relaxed)
        atomic32(S.pid).store(UInt32(truncatingIfNeeded: pid), ordering: .releasing)
    }

    /// Which area a process of `rank` (local rank `localRank`) takes: its own rank's area if its
    /// last holder is gone, else the one at `localRank` if free, else the first free one.
    public static func choose(in segment: ShmSegment, rank: Int, localRank: Int) -> ShmRankArea? {
        let areas = segment.areas
        func free(_ area: ShmRankArea) -> Bool { area.pid == 0 || !ShmSegment.processExists(area.pid) }
        if let own = areas.first(where: { $0.pid != 0 && $0.rank == rank && free($0) }) { return own }
        if localRank >= 0, localRank < areas.count, free(areas[localRank]) { return areas[localRank] }
        return areas.first(where: free)
    }

    // MARK: writing (the hot path: no locks, no system calls)

    /// Appends one record (a JSON object without its newline). False when it is too large for the
    /// ring: counted in the area's `dropped`.
    @discardableResult
    public func write(record: UnsafeRawBufferPointer) -> Bool {
        let count = record.count
        let slots = max(1, (count + ShmLayout.slotPayloadBytes - 1) / ShmLayout.slotPayloadBytes)
        guard count <= ShmLayout.maxRecordBytes, slots <= ringSlots / 4, let source = record.baseAddress else {
            atomic64(S.dropped).wrappingIncrement(ordering: .relaxed)
            return false
        }
        let first = atomic64(S.head).loadThenWrappingIncrement(by: UInt64(slots), ordering: .relaxed)
        var offset = 0
        for j in 0..<slots {
            let index = first + UInt64(j)
            let slot = slot(index)
            let stamp = stamp(slot)
            stamp.store(0, ordering: .relaxed)
            atomicMemoryFence(ordering: .releasing)
            slot.storeBytes(of: UInt32(j == 0 ? count : 0), toByteOffset: 8, as: UInt32.self)
            slot.storeBytes(of: UInt32(j == 0 ? slots : 0), toByteOffset: 12, as: UInt32.self)
            let piece = min(ShmLayout.slotPayloadBytes, count - offset)
            (slot + ShmLayout.slotHeaderBytes).copyMemory(from: source + offset, byteCount: piece)
            offset += piece
            stamp.store(index + 1, ordering: .releasing)
        }
        return true
    }

    /// The scalars every event updates.
    @inline(__always)
    public func noteEvent(ts: Double, seq: Int) {
        base.storeBytes(of: ts, toByteOffset: S.lastTs, as: Double.self)
        base.storeBytes(of: UInt64(truncatingIfNeeded: seq), toByteOffset: S.lastSeq, as: UInt64.self)
    }

    @inline(__always)
    public func noteProgress(ts: Double, step: Int, total: Int?) {
        base.storeBytes(of: ts, toByteOffset: S.lastProgressTs, as: Double.self)
        base.storeBytes(of: Int64(step), toByteOffset: S.step, as: Int64.self)
        base.storeBytes(of: Int64(total ?? -1), toByteOffset: S.total, as: Int64.self)
    }

    @inline(__always)
    public func noteWait(since: Double?) {
        base.storeBytes(of: since ?? 0, toByteOffset: S.waitSince, as: Double.self)
    }

    public func noteBye() {
        _ = atomic32(S.flags).bitwiseOrThenLoad(with: S.byeFlag, ordering: .releasing)
    }

    /// Replaces a state record (version odd while writing, even after). A record too large for
    /// its place leaves it empty: the ring still has the event. One process writes an area, so
    /// the version is loaded and stored, not incremented atomically (a locked instruction each).
    public func setState(_ record: ShmLayout.StateRecord, to bytes: UnsafeRawBufferPointer) {
        let place = base + record.offset
        let version = atomic64(record.offset)
        let before = version.load(ordering: .relaxed)
        version.store(before | 1 == before ? before &+ 2 : before &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        let fits = bytes.count <= record.payloadCapacity
        place.storeBytes(of: UInt32(fits ? bytes.count : 0), toByteOffset: 8, as: UInt32.self)
        if fits, let source = bytes.baseAddress { (place + 16).copyMemory(from: source, byteCount: bytes.count) }
        version.store((before | 1) &+ 1, ordering: .releasing)
    }

    public func clearState(_ record: ShmLayout.StateRecord) {
        setState(record, to: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    // MARK: reading

    /// A copy of a state record, or nil when it is empty (or kept changing while read).
    public func state(_ record: ShmLayout.StateRecord) -> [UInt8]? {
        let place = base + record.offset
        let version = atomic64(record.offset)
        for _ in 0..<64 {
            let before = version.load(ordering: .acquiring)
            if before & 1 == 1 { continue }
            let length = Int(place.load(fromByteOffset: 8, as: UInt32.self))
            guard length <= record.payloadCapacity else { return nil }
            let copy = [UInt8](UnsafeRawBufferPointer(start: place + 16, count: length))
            atomicMemoryFence(ordering: .acquiring)
            if version.load(ordering: .relaxed) == before { return length == 0 ? nil : copy }
        }
        return nil
    }
}
