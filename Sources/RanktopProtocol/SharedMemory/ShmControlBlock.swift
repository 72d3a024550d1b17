import Atomics

/// The segment's control block: dashboards and relays write control lines (`inject`,
/// `stack.req`) for one rank or all; each rank's emitter reads them from index 0 on. A ring of
/// 64 slots with the same stamps as the rank rings (docs/protocol.md, "Control block").
public struct ShmControlBlock: @unchecked Sendable {
    /// Keeps the mapping alive as long as the block is used.
    let segment: ShmSegment
    let base: UnsafeMutableRawPointer

    init(segment: ShmSegment) {
        self.segment = segment
        base = segment.base
    }

    public struct Entry: Sendable, Equatable {
        public var index: UInt64
        /// -1: every rank.
        public var target: Int
        public var ts: Double
        public var line: String
    }

    private var head: UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: (base + ShmLayout.Header.controlHead).assumingMemoryBound(to: UInt64.AtomicRepresentation.self))
    }

    private func slot(_ index: UInt64) -> UnsafeMutableRawPointer {
        base + ShmLayout.headerBytes + Int(index % UInt64(ShmLayout.controlSlots)) * ShmLayout.controlSlotBytes
    }

    private func stamp(_ slot: UnsafeMutableRawPointer) -> UnsafeAtomic<UInt64> {
        UnsafeAtomic(at: slot.assumingMemoryBound(to: UInt64.AtomicRepresentation.self))
    }

    /// Control lines written so far.
    public var count: UInt64 { head.load(ordering: .acquiring) }

    /// Writes `line` (a control line, without or with its newline) for `target` (-1: all).
    /// False when it is too long for a slot.
    @discardableResult
    public func post(_ line: String, target: Int, ts: Double = WallClock.now) -> Bool {
        var bytes = Array(line.utf8)
        if bytes.last == 0x0A { bytes.removeLast() }
        guard bytes.count <= ShmLayout.controlSlotBytes - ShmLayout.controlHeaderBytes else { return false }
        let index = head.loadThenWrappingIncrement(ordering: .acquiringAndReleasing)
        let slot = slot(index)
        let stamp = stamp(slot)
        stamp.store(0, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        slot.storeBytes(of: Int32(truncatingIfNeeded: target), toByteOffset: 8, as: Int32.self)
        slot.storeBytes(of: UInt32(bytes.count), toByteOffset: 12, as: UInt32.self)
        slot.storeBytes(of: ts, toByteOffset: 16, as: Double.self)
        bytes.withUnsafeBytes { (slot + ShmLayout.controlHeaderBytes).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        stamp.store(index + 1, ordering: .releasing)
        return true
    }

    /// The entry at `index`, if it is complete and not yet overwritten; `.pending` when it is
    /// still being written.
    public enum Read: Sendable, Equatable { case entry(Entry), pending, gone }

    public func read(_ index: UInt64) -> Read {
        let slot = slot(index)
        let before = stamp(slot).load(ordering: .acquiring)
        if before < index + 1 { return .pending }
        if before > index + 1 { return .gone }
        let target = Int(slot.load(fromByteOffset: 8, as: Int32.self))
        let length = Int(slot.load(fromByteOffset: 12, as: UInt32.self))
        let ts = slot.load(fromByteOffset: 16, as: Double.self)
        guard length <= ShmLayout.controlSlotBytes - ShmLayout.controlHeaderBytes else { return .gone }
        let bytes = [UInt8](UnsafeRawBufferPointer(start: slot + ShmLayout.controlHeaderBytes, count: length))
        atomicMemoryFence(ordering: .acquiring)
        guard stamp(slot).load(ordering: .relaxed) == before else { return .gone }
        return .entry(Entry(index: index, target: target, ts: ts, line: String(decoding: bytes, as: UTF8.self)))
    }
}
