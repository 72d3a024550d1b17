/// The field names protocol v1 defines. Keys are matched on raw bytes so that decoding a line
/// allocates nothing for the keys themselves.
enum EventKey: Int, CaseIterable {
    case kind, rank, ts, seq
    case v, run, world, localRank, localWorld, node, pid, runtime, timeout, restart, caps, token
    case step, total, epoch, metrics
    case n, name, site, phase
    case mode, main
    case source, reason, id
    case fired
    case level, msg
    case frames
    case code, error
    case count, by

    var jsonName: String {
        switch self {
        case .localRank: "local_rank"
        case .localWorld: "local_world"
        default: String(describing: self)
        }
    }

    private struct Packed {
        var length: Int
        var head: UInt64
        var tail: UInt64
        var key: EventKey
    }

    private static let table: [Packed] = allCases.map { key in
        let bytes = Array(key.jsonName.utf8)
        return Packed(length: bytes.count, head: pack(bytes, from: 0), tail: pack(bytes, from: 8), key: key)
    }

    private static func pack(_ bytes: [UInt8], from offset: Int) -> UInt64 {
        var word: UInt64 = 0
        var i = offset
        while i < min(bytes.count, offset + 8) {
            word |= UInt64(bytes[i]) << (8 * UInt64(i - offset))
            i += 1
        }
        return word
    }

    @inline(__always)
    private static func pack(_ p: UnsafePointer<UInt8>, count: Int, from offset: Int) -> UInt64 {
        var word: UInt64 = 0
        var i = offset
        let stop = min(count, offset + 8)
        while i < stop {
            word |= UInt64(p[i]) << (8 * UInt64(i - offset))
            i += 1
        }
        return word
    }

    /// The key whose name is exactly these bytes, if protocol v1 defines one.
    static func match(_ p: UnsafePointer<UInt8>, count: Int) -> EventKey? {
        guard count <= 16 else { return nil }
        let head = pack(p, count: count, from: 0)
        let tail = count > 8 ? pack(p, count: count, from: 8) : 0
        for entry in table where entry.head == head && entry.length == count && entry.tail == tail {
            return entry.key
        }
        return nil
    }
}

extension EventKind {
    private static let packedNames: [(length: Int, head: UInt64, tail: UInt64, kind: EventKind)] = allCases.map { kind in
        let bytes = Array(kind.rawValue.utf8)
        var head: UInt64 = 0
        var tail: UInt64 = 0
        for (i, b) in bytes.enumerated() where i < 16 {
            if i < 8 { head |= UInt64(b) << (8 * UInt64(i)) } else { tail |= UInt64(b) << (8 * UInt64(i - 8)) }
        }
        return (bytes.count, head, tail, kind)
    }

    static func match(_ p: UnsafePointer<UInt8>, count: Int) -> EventKind? {
        guard count <= 16 else { return nil }
        var head: UInt64 = 0
        var tail: UInt64 = 0
        for i in 0..<count {
            if i < 8 { head |= UInt64(p[i]) << (8 * UInt64(i)) } else { tail |= UInt64(p[i]) << (8 * UInt64(i - 8)) }
        }
        for entry in packedNames where entry.head == head && entry.length == count && entry.tail == tail {
            return entry.kind
        }
        return nil
    }
}
