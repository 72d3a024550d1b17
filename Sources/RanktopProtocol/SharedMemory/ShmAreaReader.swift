/// What a reader takes from one rank area, in `seq` order: on its first drain the state block's
/// copies of the events the ring no longer holds (hello, phase, last progress, open barrier or
/// collective), then the ring; after that the ring alone.
///
/// Records are gathered into one buffer per drain (no allocation per record) and handed out
/// ordered by `seq` where two threads of one writer published a few nanoseconds out of order.
public struct ShmAreaReader {
    public private(set) var ring: ShmRingReader
    /// The area's generation when this reader started (a new process claims it with +1).
    public let generation: UInt32
    private var replayedState = false
    private var bytes: [UInt8] = []
    private var spans: [(start: Int, end: Int, seq: Int)] = []

    public init(area: ShmRankArea) {
        generation = area.generation
        ring = ShmRingReader(area: area)
    }

    /// Continues at `position` (where a reader of the area's previous process stopped); the
    /// state block is replayed only for what the ring no longer holds.
    public init(area: ShmRankArea, resumingAt position: UInt64) {
        generation = area.generation
        ring = ShmRingReader(area: area, position: position)
    }

    public var area: ShmRankArea { ring.area }
    public var position: UInt64 { ring.position }
    static let reorderWindow = 64

    /// Calls `body` with every record available now, in `seq` order; returns how many.
    /// `stopAtHello`: stop before a `hello` (one of a new process in the area), leaving it for
    /// the next reader.
    @discardableResult
    public mutating func drain(limit: Int = .max, stopAtHello: Bool = false, _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        var first = true
        ring.drain(limit: limit) { record in
            if stopAtHello, !(first && !replayedState), ShmRecordSeq.isHello(record) { return false }
            first = false
            let start = bytes.count
            bytes.append(contentsOf: record)
            spans.append((start, bytes.count, ShmRecordSeq.seq(in: record) ?? -1))
            // Two threads of one writer publish at most a few records out of order; a drop of
            // seq by more than that is a new process, whose order is the ring's.
            var j = spans.count - 1
            while j > 0, spans[j - 1].seq > spans[j].seq, spans[j - 1].seq - spans[j].seq <= ShmAreaReader.reorderWindow {
                spans.swapAt(j - 1, j)
                j -= 1
            }
            return true
        }
        if !replayedState {
            replayedState = true
            let oldest = spans.map(\.seq).filter { $0 >= 0 }.min() ?? .max
            var earlier: [(start: Int, end: Int, seq: Int)] = []
            for record in ShmLayout.StateRecord.allCases {
                guard let copy = area.state(record), let seq = ShmRecordSeq.seq(in: copy), seq < oldest else { continue }
                let start = bytes.count
                bytes.append(contentsOf: copy)
                earlier.append((start, bytes.count, seq))
            }
            spans.insert(contentsOf: earlier.sorted { $0.seq < $1.seq }, at: 0)
        }
        guard !spans.isEmpty else { return 0 }
        bytes.withUnsafeBytes { all in
            for span in spans { body(UnsafeRawBufferPointer(rebasing: all[span.start..<span.end])) }
        }
        return spans.count
    }
}

/// The `seq` of a record, read without decoding it: ranktop's encoders (and protocol-v1's
/// example) put it among the first fields.
public enum ShmRecordSeq {
    private static let key: [UInt8] = Array("\"seq\":".utf8)

    public static func seq(in record: UnsafeRawBufferPointer) -> Int? {
        let limit = min(record.count, 512)
        guard limit > key.count else { return nil }
        var i = 0
        outer: while i + key.count <= limit {
            for j in 0..<key.count where record[i + j] != key[j] {
                i += 1
                continue outer
            }
            var k = i + key.count
            while k < record.count, record[k] == 0x20 { k += 1 }
            var value = 0
            var digits = 0
            while k < record.count, record[k] >= 0x30, record[k] <= 0x39, digits < 18 {
                value = value * 10 + Int(record[k] - 0x30)
                k += 1
                digits += 1
            }
            return digits > 0 ? value : nil
        }
        return nil
    }

    private static let helloPrefix: [UInt8] = Array("{\"kind\":\"hello\"".utf8)

    /// Whether the record is a `hello` (every ranktop writer starts its objects with `kind`).
    public static func isHello(_ record: UnsafeRawBufferPointer) -> Bool {
        record.count >= helloPrefix.count && zip(record, helloPrefix).allSatisfy { $0 == $1 }
    }

    public static func seq(in record: [UInt8]) -> Int? {
        record.withUnsafeBytes { seq(in: $0) }
    }
}
