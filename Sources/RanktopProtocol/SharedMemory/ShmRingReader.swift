import Atomics

/// One reader's position in one rank's ring, and the drain that follows the ring's rules
/// (docs/protocol.md, "Reading"): whole records only, checked before and after the copy.
///
/// Records that were overwritten before they were read, or torn by a writer lapping the reader
/// mid-copy, are skipped and counted here; they never reach the log, and the `seq` gap counts
/// them as `dropped` there.
public struct ShmRingReader {
    public let area: ShmRankArea
    public private(set) var position: UInt64
    /// Slots skipped: overwritten before they were read, torn, or abandoned mid-write.
    public private(set) var skippedSlots = 0
    /// Records that passed every check.
    public private(set) var records = 0
    private var buffer: [UInt8] = []
    /// Where the reader waited for a slot its writer had reserved but not completed, and since when.
    private var pendingSince: (index: UInt64, at: Double)?
    /// A reserved slot not completed in this long is given up on (its writer died mid-record).
    public static let abandonAfter = 0.5

    /// Starts at the oldest slot the ring still holds.
    public init(area: ShmRankArea) {
        self.area = area
        let head = area.head
        position = head > UInt64(area.ringSlots) ? head - UInt64(area.ringSlots) : 0
        buffer.reserveCapacity(ShmLayout.maxRecordBytes)
    }

    /// Starts at `position` (a reader that resumes where it stopped).
    public init(area: ShmRankArea, position: UInt64) {
        self.init(area: area)
        self.position = max(self.position, min(position, area.head))
    }

    /// Calls `body` with each complete record from the position to the head, oldest first, at
    /// most `limit` of them; returns how many. When `body` returns false the record is left
    /// where it is (the next drain starts with it) and the drain stops.
    @discardableResult
    public mutating func drain(limit: Int = .max, _ body: (UnsafeRawBufferPointer) -> Bool) -> Int {
        let ringSlots = UInt64(area.ringSlots)
        var delivered = 0
        var head = area.head
        while delivered < limit {
            if position >= head {
                head = area.head
                if position >= head { break }
            }
            if head - position > ringSlots {
                skippedSlots += Int(head - position - ringSlots)
                position = head - ringSlots
            }
            let slot = area.slot(position)
            let stamp = area.stamp(slot).load(ordering: .acquiring)
            let expected = position + 1
            if stamp < expected {
                // Reserved, not yet complete: come back, unless its writer is gone.
                if waitedTooLong(at: position) {
                    skippedSlots += 1
                    position += 1
                    continue
                }
                break
            }
            pendingSince = nil
            if stamp > expected {
                skippedSlots += 1
                position += 1
                continue
            }
            let length = Int(slot.load(fromByteOffset: 8, as: UInt32.self))
            let count = Int(slot.load(fromByteOffset: 12, as: UInt16.self))
            guard count >= 1, length >= 1, length <= count * ShmLayout.slotPayloadBytes, length > (count - 1) * ShmLayout.slotPayloadBytes,
                  UInt64(count) <= ringSlots / 4
            else {
                // A continuation slot (the reader joined mid-record) or nonsense.
                skippedSlots += 1
                position += 1
                continue
            }
            switch copy(from: position, slots: count, length: length) {
            case .whole:
                guard buffer.withUnsafeBytes({ body($0) }) else { return delivered }
                records += 1
                delivered += 1
                position += UInt64(count)
            case .pending:
                if waitedTooLong(at: position) {
                    skippedSlots += 1
                    position += 1
                    continue
                }
                return delivered
            case .torn:
                skippedSlots += 1
                position += 1
            }
        }
        return delivered
    }

    private enum CopyResult { case whole, pending, torn }

    private mutating func copy(from first: UInt64, slots: Int, length: Int) -> CopyResult {
        for j in 1..<max(slots, 1) where slots > 1 {
            let stamp = area.stamp(area.slot(first + UInt64(j))).load(ordering: .acquiring)
            if stamp < first + UInt64(j) + 1 { return .pending }
            if stamp > first + UInt64(j) + 1 { return .torn }
        }
        buffer.removeAll(keepingCapacity: true)
        var remaining = length
        for j in 0..<slots {
            let piece = min(remaining, ShmLayout.slotPayloadBytes)
            let source = UnsafeRawBufferPointer(start: area.slot(first + UInt64(j)) + ShmLayout.slotHeaderBytes, count: piece)
            buffer.append(contentsOf: source)
            remaining -= piece
        }
        atomicMemoryFence(ordering: .acquiring)
        for j in 0..<slots where area.stamp(area.slot(first + UInt64(j))).load(ordering: .relaxed) != first + UInt64(j) + 1 {
            return .torn
        }
        return .whole
    }

    private mutating func waitedTooLong(at index: UInt64) -> Bool {
        let now = MonotonicClock.now
        guard let pending = pendingSince, pending.index == index else {
            pendingSince = (index, now)
            return false
        }
        return now - pending.at >= ShmRingReader.abandonAfter
    }
}
