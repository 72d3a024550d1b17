/// What ranks and the store hosted by rank 0 say to each other. Each message travels as one
/// frame: a 4-byte big-endian length, a 1-byte tag, then the fields (integers as 8-byte
/// big-endian, strings as a 4-byte length and UTF-8, lists as a 4-byte count and their items).
/// Binary rather than JSON Lines because it carries injection ids, which may hold any byte.
enum RendezvousMessage: Equatable, Sendable {
    /// First message of every rank; `run` is the run id the rank would use if nobody had one.
    case join(rank: Int, world: Int, run: String)
    /// The store accepted the rank; `run` is rank 0's run id, shared by every rank.
    case joined(run: String)
    /// Contribute `value` (and injection ids) to the collective `key`; answered once every rank did.
    case reduce(key: String, value: Int, ids: [String])
    /// The collective's result: the largest value any rank gave and every id any rank gave.
    case reduced(value: Int, ids: [String])
    /// Who has arrived at collective `key` so far (asked after a timeout, to name the missing).
    case status(key: String)
    case statusReport(arrived: [Int], departed: [Int])
    /// The store refused a request; the text says why in words a user can act on.
    case failure(String)

    static let maxFrameBytes = 1 << 20

    private enum Tag: UInt8 {
        case join = 1, joined, reduce, reduced, status, statusReport, failure
    }

    var frame: [UInt8] {
        var out = FrameWriter()
        switch self {
        case let .join(rank, world, run):
            out.tag(Tag.join.rawValue); out.int(rank); out.int(world); out.string(run)
        case let .joined(run):
            out.tag(Tag.joined.rawValue); out.string(run)
        case let .reduce(key, value, ids):
            out.tag(Tag.reduce.rawValue); out.string(key); out.int(value); out.strings(ids)
        case let .reduced(value, ids):
            out.tag(Tag.reduced.rawValue); out.int(value); out.strings(ids)
        case let .status(key):
            out.tag(Tag.status.rawValue); out.string(key)
        case let .statusReport(arrived, departed):
            out.tag(Tag.statusReport.rawValue); out.ints(arrived); out.ints(departed)
        case let .failure(text):
            out.tag(Tag.failure.rawValue); out.string(text)
        }
        return out.finish()
    }

    /// Decodes one frame's payload (after its length); nil when it is malformed.
    init?(payload: ArraySlice<UInt8>) {
        var reader = FrameReader(bytes: payload)
        guard let raw = reader.byte(), let tag = Tag(rawValue: raw) else { return nil }
        switch tag {
        case .join:
            guard let rank = reader.int(), let world = reader.int(), let run = reader.string() else { return nil }
            self = .join(rank: rank, world: world, run: run)
        case .joined:
            guard let run = reader.string() else { return nil }
            self = .joined(run: run)
        case .reduce:
            guard let key = reader.string(), let value = reader.int(), let ids = reader.strings() else { return nil }
            self = .reduce(key: key, value: value, ids: ids)
        case .reduced:
            guard let value = reader.int(), let ids = reader.strings() else { return nil }
            self = .reduced(value: value, ids: ids)
        case .status:
            guard let key = reader.string() else { return nil }
            self = .status(key: key)
        case .statusReport:
            guard let arrived = reader.ints(), let departed = reader.ints() else { return nil }
            self = .statusReport(arrived: arrived, departed: departed)
        case .failure:
            guard let text = reader.string() else { return nil }
            self = .failure(text)
        }
        guard reader.atEnd else { return nil }
    }
}

/// Splits a byte stream into frames.
struct FrameBuffer {
    private var bytes: [UInt8] = []

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        bytes.append(contentsOf: chunk)
    }

    enum Next: Equatable {
        case message(RendezvousMessage)
        case incomplete
        case malformed
    }

    mutating func next() -> Next {
        guard bytes.count >= 4 else { return .incomplete }
        let length = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, length <= RendezvousMessage.maxFrameBytes else { return .malformed }
        guard bytes.count >= 4 + length else { return .incomplete }
        let message = RendezvousMessage(payload: bytes[4..<(4 + length)])
        bytes.removeFirst(4 + length)
        return message.map(Next.message) ?? .malformed
    }
}

private struct FrameWriter {
    var out: [UInt8] = [0, 0, 0, 0]

    mutating func tag(_ value: UInt8) { out.append(value) }

    mutating func int(_ value: Int) {
        let bits = UInt64(bitPattern: Int64(value))
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
    }

    mutating func count(_ value: Int) {
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    mutating func string(_ value: String) {
        count(value.utf8.count)
        out.append(contentsOf: value.utf8)
    }

    mutating func strings(_ values: [String]) {
        count(values.count)
        for value in values { string(value) }
    }

    mutating func ints(_ values: [Int]) {
        count(values.count)
        for value in values { int(value) }
    }

    mutating func finish() -> [UInt8] {
        let length = out.count - 4
        for index in 0..<4 { out[index] = UInt8(truncatingIfNeeded: length >> (24 - 8 * index)) }
        return out
    }
}

private struct FrameReader {
    let bytes: ArraySlice<UInt8>
    var position: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    var atEnd: Bool { position == bytes.endIndex }

    mutating func byte() -> UInt8? {
        guard position < bytes.endIndex else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func int() -> Int? {
        guard bytes.endIndex - position >= 8 else { return nil }
        var bits: UInt64 = 0
        for _ in 0..<8 { bits = bits << 8 | UInt64(bytes[position]); position += 1 }
        return Int(Int64(bitPattern: bits))
    }

    mutating func count() -> Int? {
        guard bytes.endIndex - position >= 4 else { return nil }
        var value = 0
        for _ in 0..<4 { value = value << 8 | Int(bytes[position]); position += 1 }
        return value
    }

    mutating func string() -> String? {
        guard let length = count(), bytes.endIndex - position >= length else { return nil }
        defer { position += length }
        return String(decoding: bytes[position..<(position + length)], as: UTF8.self)
    }

    mutating func strings() -> [String]? {
        guard let total = count(), total <= bytes.endIndex - position else { return nil }
        var values: [String] = []
        for _ in 0..<total {
            guard let value = string() else { return nil }
            values.append(value)
        }
        return values
    }

    mutating func ints() -> [Int]? {
        guard let total = count(), total * 8 <= bytes.endIndex - position else { return nil }
        var values: [Int] = []
        for _ in 0..<total {
            guard let value = int() else { return nil }
            values.append(value)
        }
        return values
    }
}
