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
        @inline(__always) func rest(_ word: StaticString) -> Bool {
            memcmp(p, word.utf8Start, count) == 0
        }
        switch count {
        case 1:
            switch p[0] {
            case UInt8(ascii: "v"): return .v
            case UInt8(ascii: "n"): return .n
            default: return nil
            }
        case 2:
            switch p[0] {
            case UInt8(ascii: "t"): return rest("ts") ? .ts : nil
            case UInt8(ascii: "i"): return rest("id") ? .id : nil
            case UInt8(ascii: "b"): return rest("by") ? .by : nil
            case UInt8(ascii: "o"): return rest("op") ? .op : nil
            default: return nil
            }
        case 3:
            switch p[0] {
            case UInt8(ascii: "s"): return rest("seq") ? .seq : nil
            case UInt8(ascii: "r"): return rest("run") ? .run : nil
            case UInt8(ascii: "p"): return rest("pid") ? .pid : nil
            case UInt8(ascii: "m"): return rest("msg") ? .msg : nil
            default: return nil
            }
        case 4:
            switch p[0] {
            case UInt8(ascii: "k"): return rest("kind") ? .kind : nil
            case UInt8(ascii: "r"): return rest("rank") ? .rank : nil
            case UInt8(ascii: "c"): return rest("caps") ? .caps : rest("code") ? .code : nil
            case UInt8(ascii: "s"): return rest("step") ? .step : rest("site") ? .site : rest("size") ? .size : nil
            case UInt8(ascii: "n"): return rest("node") ? .node : rest("name") ? .name : nil
            case UInt8(ascii: "m"): return rest("mode") ? .mode : rest("main") ? .main : nil
            default: return nil
            }
        case 5:
            switch p[0] {
            case UInt8(ascii: "w"): return rest("world") ? .world : nil
            case UInt8(ascii: "t"): return rest("token") ? .token : rest("total") ? .total : nil
            case UInt8(ascii: "e"): return rest("epoch") ? .epoch : rest("error") ? .error : nil
            case UInt8(ascii: "p"): return rest("phase") ? .phase : nil
            case UInt8(ascii: "f"): return rest("fired") ? .fired : nil
            case UInt8(ascii: "c"): return rest("count") ? .count : nil
            case UInt8(ascii: "g"): return rest("group") ? .group : nil
            case UInt8(ascii: "b"): return rest("bytes") ? .bytes : nil
            case UInt8(ascii: "d"): return rest("dtype") ? .dtype : nil
            case UInt8(ascii: "l"): return rest("level") ? .level : rest("label") ? .label : nil
            case UInt8(ascii: "a"): return rest("async") ? .async : nil
            default: return nil
            }
        case 6:
            switch p[0] {
            case UInt8(ascii: "s"): return rest("source") ? .source : rest("signal") ? .signal : nil
            case UInt8(ascii: "r"): return rest("reason") ? .reason : nil
            case UInt8(ascii: "f"): return rest("frames") ? .frames : nil
            default: return nil
            }
        case 7:
            switch p[0] {
            case UInt8(ascii: "r"): return rest("runtime") ? .runtime : rest("restart") ? .restart : nil
            case UInt8(ascii: "t"): return rest("timeout") ? .timeout : nil
            case UInt8(ascii: "m"): return rest("metrics") ? .metrics : rest("members") ? .members : nil
            default: return nil
            }
        case 10: return rest("local_rank") ? .localRank : nil
        case 11: return rest("local_world") ? .localWorld : nil
        default: return nil
        }
    }
}

extension EventKind {
    /// The kind whose name is exactly these bytes.
    static func match(_ p: UnsafePointer<UInt8>, count: Int) -> EventKind? {
        @inline(__always) func rest(_ word: StaticString) -> Bool {
            memcmp(p, word.utf8Start, count) == 0
        }
        switch count {
        case 3: return rest("log") ? .log : rest("bye") ? .bye : nil
        case 4: return rest("lost") ? .lost : rest("stop") ? .stop : nil
        case 5: return rest("hello") ? .hello : rest("stack") ? .stack : nil
        case 6: return rest("inject") ? .inject : nil
        case 7: return rest("dropped") ? .dropped : nil
        case 8: return rest("progress") ? .progress : nil
        case 9: return rest("heartbeat") ? .heartbeat : rest("discarded") ? .discarded : nil
        case 10: return rest("phase.exit") ? .phaseExit : nil
        case 11: return rest("phase.enter") ? .phaseEnter : rest("trigger.set") ? .triggerSet : rest("unreachable") ? .unreachable : nil
        case 12: return rest("barrier.exit") ? .barrierExit : nil
        case 13: return rest("barrier.enter") ? .barrierEnter : rest("trigger.check") ? .triggerCheck : nil
        case 15: return rest("collective.exit") ? .collectiveExit : nil
        case 16: return rest("collective.enter") ? .collectiveEnter : nil
        default: return nil
        }
    }
}
