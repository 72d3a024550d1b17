#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The field names protocol v1 defines. Keys are matched on raw bytes, by length and first byte,
/// so decoding a line allocates nothing for the keys themselves.
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
    case signal
    case group, op, size, members, bytes, dtype, label, async
    case state

    /// Sizes the decoder's slot buffer: derived, so a new key can never write past its end.
    static let caseCount = allCases.count

    var jsonName: String {
        switch self {
        case .localRank: "local_rank"
        case .localWorld: "local_world"
        default: String(describing: self)
        }
    }

    /// The key whose name is exactly these bytes, if protocol v1 defines one.
    static func match(_ p: UnsafePointer<UInt8>, count: Int) -> EventKey? {
        match(word: count <= 8 ? littleEndianWord(p, count: count) : 0, p, count: count)
    }

    /// The key named by the `count` bytes at `p`, given `word`: those bytes when there are at most
    /// eight, little-endian and zero above (see `littleEndianWord`). The word is hashed perfectly
    /// (a multiply and a shift: no two names collide; a test checks every name and near miss),
    /// so matching is a jump and one comparison; the two longer names are compared whole.
    @inline(__always)
    static func match(word: UInt64, _ p: UnsafePointer<UInt8>, count: Int) -> EventKey? {
        switch count {
        case 1...8:
            // No name ends in a zero byte: bytes that do (a NUL inside) are no name.
            guard byteLength(word) == count else { return nil }
            switch (word &* 0xE6FC_C59A_C962_EFE1) >> 57 {
            case 0: return word == 0x0000_0074_6E75_6F63 ? .count : nil // count
            case 3: return word == 0x0000_0070_756F_7267 ? .group : nil // group
            case 6: return word == 0x0000_0000_6574_6973 ? .site : nil // site
            case 9: return word == 0x0000_0068_636F_7065 ? .epoch : nil // epoch
            case 11: return word == 0x0000_0000_7370_6163 ? .caps : nil // caps
            case 14: return word == 0x0000_0000_6564_6F6E ? .node : nil // node
            case 20: return word == 0x0073_6369_7274_656D ? .metrics : nil // metrics
            case 23: return word == 0x0000_0000_6564_6F63 ? .code : nil // code
            case 26: return word == 0x0000_0000_6564_6F6D ? .mode : nil // mode
            case 27: return word == 0x0000_0000_0000_7374 ? .ts : nil // ts
            case 29: return word == 0x0000_0000_656D_616E ? .name : nil // name
            case 31: return word == 0x0000_0000_6B6E_6172 ? .rank : nil // rank
            case 32: return word == 0x0000_0000_0000_006E ? .n : nil // n
            case 34: return word == 0x0000_7365_6D61_7266 ? .frames : nil // frames
            case 36: return word == 0x0000_006C_6576_656C ? .level : nil // level
            case 37: return word == 0x0000_0000_006E_7572 ? .run : nil // run
            case 43: return word == 0x0000_0065_7079_7464 ? .dtype : nil // dtype
            case 51: return word == 0x0000_0000_0067_736D ? .msg : nil // msg
            case 53: return word == 0x0000_006C_6174_6F74 ? .total : nil // total
            case 56: return word == 0x0000_0064_6572_6966 ? .fired : nil // fired
            case 58: return word == 0x0000_006E_656B_6F74 ? .token : nil // token
            case 60: return word == 0x0000_0000_0000_0076 ? .v : nil // v
            case 61: return word == 0x0000_0000_0000_6469 ? .id : nil // id
            case 62: return word == 0x0000_0072_6F72_7265 ? .error : nil // error
            case 64: return word == 0x0000_6C61_6E67_6973 ? .signal : nil // signal
            case 66: return word == 0x0000_6563_7275_6F73 ? .source : nil // source
            case 70: return word == 0x0074_7261_7473_6572 ? .restart : nil // restart
            case 75: return word == 0x0000_0000_646E_696B ? .kind : nil // kind
            case 77: return word == 0x0000_0065_7361_6870 ? .phase : nil // phase
            case 86: return word == 0x0000_0000_657A_6973 ? .size : nil // size
            case 87: return word == 0x0000_0000_6E69_616D ? .main : nil // main
            case 91: return word == 0x0000_0000_0071_6573 ? .seq : nil // seq
            case 94: return word == 0x0073_7265_626D_656D ? .members : nil // members
            case 95: return word == 0x0000_0000_0000_706F ? .op : nil // op
            case 98: return word == 0x0000_0065_7461_7473 ? .state : nil // state
            case 99: return word == 0x0074_756F_656D_6974 ? .timeout : nil // timeout
            case 102: return word == 0x0065_6D69_746E_7572 ? .runtime : nil // runtime
            case 105: return word == 0x0000_6E6F_7361_6572 ? .reason : nil // reason
            case 110: return word == 0x0000_0063_6E79_7361 ? .async : nil // async
            case 114: return word == 0x0000_006C_6562_616C ? .label : nil // label
            case 115: return word == 0x0000_0000_0000_7962 ? .by : nil // by
            case 118: return word == 0x0000_0000_0064_6970 ? .pid : nil // pid
            case 119: return word == 0x0000_0064_6C72_6F77 ? .world : nil // world
            case 124: return word == 0x0000_0073_6574_7962 ? .bytes : nil // bytes
            case 125: return word == 0x0000_0000_7065_7473 ? .step : nil // step
            default: return nil
            }
        case 10: return memcmp(p, "local_rank", 10) == 0 ? .localRank : nil
        case 11: return memcmp(p, "local_world", 11) == 0 ? .localWorld : nil
        default: return nil
        }
    }
}

/// The first `count` (at most 8) bytes at `p` as a little-endian word, zero above them.
@inline(__always)
func littleEndianWord(_ p: UnsafePointer<UInt8>, count: Int) -> UInt64 {
    var word: UInt64 = 0
    var i = count
    while i > 0 {
        i -= 1
        word = word << 8 | UInt64(p[i])
    }
    return word
}

/// Bytes up to the highest nonzero one of a little-endian word.
@inline(__always)
func byteLength(_ word: UInt64) -> Int {
    (71 - word.leadingZeroBitCount) >> 3
}

/// Keeps the low `count` bytes of a little-endian word (count in 0...8).
@inline(__always)
func lowBytes(_ word: UInt64, _ count: Int) -> UInt64 {
    count >= 8 ? word : word & ((1 << (UInt64(count) << 3)) &- 1)
}

extension EventKind {
    /// The kind whose name is exactly these bytes.
    static func match(_ p: UnsafePointer<UInt8>, count: Int) -> EventKind? {
        guard count <= 16 else { return nil }
        let low = littleEndianWord(p, count: min(count, 8))
        let high = count > 8 ? littleEndianWord(p + 8, count: count - 8) : 0
        return match(low: low, high: high, count: count)
    }

    /// The kind named by `count` bytes whose first eight are `low` and next eight `high`
    /// (little-endian, zero past `count`).
    @inline(__always)
    static func match(low: UInt64, high: UInt64, count: Int) -> EventKind? {
        // No name ends in a zero byte (and the eight of `low` are compared whole past eight).
        guard count > 8 ? byteLength(high) == count - 8 : high == 0 && byteLength(low) == count else { return nil }
        switch count {
        case 3: return low == 0x0000_0000_0067_6F6C ? .log : low == 0x0000_0000_0065_7962 ? .bye : nil // log, bye
        case 4: return low == 0x0000_0000_7473_6F6C ? .lost : low == 0x0000_0000_706F_7473 ? .stop : nil // lost, stop
        case 5: return low == 0x0000_006F_6C6C_6568 ? .hello : low == 0x0000_006B_6361_7473 ? .stack : nil // hello, stack
        case 6: return low == 0x0000_7463_656A_6E69 ? .inject : nil // inject
        case 7: return low == 0x0064_6570_706F_7264 ? .dropped : nil // dropped
        case 8: return low == 0x7373_6572_676F_7270 ? .progress : nil // progress
        case 9: return low == 0x6165_6274_7261_6568 && high == 0x0000_0000_0000_0074 ? .heartbeat : low == 0x6564_7261_6373_6964 && high == 0x0000_0000_0000_0064 ? .discarded : low == 0x6F74_6365_6C6C_6F63 && high == 0x0000_0000_0000_0072 ? .collector : nil // heartbeat, discarded, collector
        case 10: return low == 0x7865_2E65_7361_6870 && high == 0x0000_0000_0000_7469 ? .phaseExit : nil // phase.exit
        case 11: return low == 0x6E65_2E65_7361_6870 && high == 0x0000_0000_0072_6574 ? .phaseEnter : low == 0x2E72_6567_6769_7274 && high == 0x0000_0000_0074_6573 ? .triggerSet : low == 0x6168_6361_6572_6E75 && high == 0x0000_0000_0065_6C62 ? .unreachable : nil // phase.enter, trigger.set, unreachable
        case 12: return low == 0x2E72_6569_7272_6162 && high == 0x0000_0000_7469_7865 ? .barrierExit : nil // barrier.exit
        case 13: return low == 0x2E72_6569_7272_6162 && high == 0x0000_0072_6574_6E65 ? .barrierEnter : low == 0x2E72_6567_6769_7274 && high == 0x0000_006B_6365_6863 ? .triggerCheck : nil // barrier.enter, trigger.check
        case 15: return low == 0x6974_6365_6C6C_6F63 && high == 0x0074_6978_652E_6576 ? .collectiveExit : nil // collective.exit
        case 16: return low == 0x6974_6365_6C6C_6F63 && high == 0x7265_746E_652E_6576 ? .collectiveEnter : nil // collective.enter
        default: return nil
        }
    }
}
