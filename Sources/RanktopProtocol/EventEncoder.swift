/// Writes events as protocol-v1 JSON Lines, field order `kind, rank, ts, seq, ...` as in the
/// protocol's example. Hand-written for the emitter's hot path: no Foundation, no reflection.
public enum EventEncoder {
    /// The line for `event`, with its trailing newline.
    public static func line(_ event: Event) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(160)
        encode(event, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the event's line, newline included, to `out`.
    public static func encode(_ event: Event, into out: inout [UInt8]) {
        var w = JSONWriter(out: out)
        out = []
        w.open()
        w.field("kind", event.kind.rawValue)
        w.field("rank", event.rank)
        w.field("ts", timestamp: event.ts)
        if let seq = event.seq { w.field("seq", seq) }
        switch event.body {
        case let .hello(h):
            w.field("v", h.v)
            w.field("run", h.run)
            w.field("world", h.world)
            w.field("local_rank", h.localRank)
            w.field("local_world", h.localWorld)
            w.field("node", h.node)
            w.field("pid", h.pid)
            w.field("runtime", h.runtime)
            if let timeout = h.timeout { w.field("timeout", timeout) }
            if let restart = h.restart { w.field("restart", restart) }
            if !h.caps.isEmpty { w.field("caps", strings: h.caps) }
            if let token = h.token { w.field("token", token) }
        case let .progress(p):
            w.field("step", p.step)
            if let total = p.total { w.field("total", total) }
            if let epoch = p.epoch { w.field("epoch", epoch) }
            if !p.metrics.isEmpty {
                w.key("metrics")
                w.open()
                for metric in p.metrics { w.field(metric.name, metric.value) }
                w.close()
            }
        case let .barrierEnter(b):
            w.field("n", b.n)
            if let name = b.name { w.field("name", name) }
            if let site = b.site { w.field("site", site) }
            if let phase = b.phase { w.field("phase", phase) }
        case let .barrierExit(n):
            w.field("n", n)
        case let .phaseEnter(p):
            w.field("name", p.name)
            w.field("mode", p.mode.rawValue)
            w.field("main", p.main)
        case let .phaseExit(name):
            w.field("name", name)
        case let .triggerSet(t):
            w.field("source", t.source.rawValue)
            if let reason = t.reason { w.field("reason", reason) }
            if let id = t.id { w.field("id", id) }
        case let .triggerCheck(n, fired):
            w.field("n", n)
            w.field("fired", fired)
        case let .log(level, msg):
            w.field("level", level.rawValue)
            w.field("msg", msg)
        case .heartbeat:
            break
        case let .stack(id, frames):
            w.field("id", id)
            w.field("frames", strings: frames)
        case let .collectiveEnter(c):
            w.field("group", c.group)
            w.field("n", c.n)
            w.field("op", c.op)
            if let size = c.size { w.field("size", size) }
            if let members = c.members { w.field("members", ints: members) }
            if let bytes = c.bytes { w.field("bytes", bytes) }
            if let dtype = c.dtype { w.field("dtype", dtype) }
            if let site = c.site { w.field("site", site) }
            if let label = c.label { w.field("label", label) }
            if let isAsync = c.isAsync { w.field("async", isAsync) }
        case let .collectiveExit(c):
            w.field("group", c.group)
            w.field("n", c.n)
            if let op = c.op { w.field("op", op) }
        case let .bye(code, error):
            if let code { w.field("code", code) }
            if let error { w.field("error", error) }
        case let .lost(reason), let .unreachable(reason):
            w.field("reason", reason)
        case let .dropped(count):
            w.field("count", count)
        case let .inject(injection):
            w.field("id", injection.id)
            if let reason = injection.reason { w.field("reason", reason) }
            if let by = injection.by { w.field("by", by) }
        case let .discarded(count, reason):
            w.field("count", count)
            if let reason { w.field("reason", reason) }
        case let .stop(stop):
            w.field("signal", stop.signal)
            if let by = stop.by { w.field("by", by) }
            if let reason = stop.reason { w.field("reason", reason) }
            if let source = stop.source { w.field("source", source) }
        case let .collector(record):
            w.field("state", record.state.rawValue)
            w.field("pid", record.pid)
            w.field("node", record.node)
        }
        w.close()
        w.out.append(0x0A)
        out = w.out
    }
}

/// Appends JSON tokens to a byte array; tracks whether a comma is due.
struct JSONWriter {
    var out: [UInt8]
    private var needsComma = false

    init(out: [UInt8] = []) { self.out = out }

    mutating func open() {
        out.append(UInt8(ascii: "{"))
        needsComma = false
    }

    mutating func close() {
        out.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func key(_ name: String) {
        if needsComma { out.append(UInt8(ascii: ",")) }
        string(name)
        out.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        string(value)
        needsComma = true
    }

    mutating func field(_ name: String, _ value: Int) {
        key(name)
        out.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        out.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    mutating func field(_ name: String, _ value: Double) {
        key(name)
        number(value)
        needsComma = true
    }

    /// Seconds with at most microsecond resolution, as the protocol asks.
    mutating func field(_ name: String, timestamp: Double) {
        key(name)
        number((timestamp * 1_000_000).rounded() / 1_000_000)
        needsComma = true
    }

    mutating func field(_ name: String, ints: [Int]) {
        key(name)
        out.append(UInt8(ascii: "["))
        for (i, value) in ints.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: String(value).utf8)
        }
        out.append(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func field(_ name: String, strings: [String]) {
        key(name)
        out.append(UInt8(ascii: "["))
        for (i, s) in strings.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(s)
        }
        out.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Non-finite values are written as Python's json module writes them (`NaN`, `Infinity`),
    /// which our decoder accepts: a diverged loss is worth showing.
    mutating func number(_ value: Double) {
        if value.isNaN {
            out.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            out.append(contentsOf: (value < 0 ? "-Infinity" : "Infinity").utf8)
        } else if value == value.rounded(), abs(value) < 1e15 {
            out.append(contentsOf: String(Int(value)).utf8)
        } else {
            out.append(contentsOf: value.description.utf8)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func string(_ value: String) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(0x5C); out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, JSONWriter.hex[Int(byte >> 4)], JSONWriter.hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
