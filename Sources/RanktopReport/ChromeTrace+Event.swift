import RanktopProtocol

/// One Chrome trace event before it is written: the timed ones (`X`, `i`, `C`) wait in their
/// rank's `ChromeTrack` until nothing earlier can still come for that rank.
struct TraceEvent: Sendable {
    var name: String
    var category: String
    /// `X` (complete), `i` (instant), `C` (counter).
    var phase: String
    /// Microseconds since the Unix epoch (the log's own clock).
    var ts: Int
    /// `X` only.
    var dur: Int?
    var pid: Int
    var tid: Int
    /// Instants: `t` (the rank's track) or `g` (the whole run).
    var scope: String?
    var args: [(String, JSONValue)]
    /// Counters: the one series (`rank 3`) and its sample, written as their args.
    var series: String?
    var sample: JSONValue?

    /// Microseconds, saturated: a hostile timestamp must not trap the conversion.
    static func micros(_ seconds: Double) -> Int {
        let value = (seconds * 1_000_000).rounded()
        guard value.isFinite else { return 0 }
        return Int(max(-9e15, min(9e15, value)))
    }

    static func complete(_ name: String, category: String, start: Int, end: Int, pid: Int, tid: Int, args: [(String, JSONValue)]) -> TraceEvent {
        TraceEvent(name: name, category: category, phase: "X", ts: start, dur: max(0, end - start), pid: pid, tid: tid, scope: nil, args: args)
    }

    static func instant(_ name: String, category: String, ts: Int, pid: Int, tid: Int, global: Bool = false, args: [(String, JSONValue)] = []) -> TraceEvent {
        TraceEvent(name: name, category: category, phase: "i", ts: ts, dur: nil, pid: pid, tid: tid, scope: global ? "g" : "t", args: args)
    }

    /// A counter sample. Counters belong to a process in the format (a node here): the series is
    /// named after the rank, so each rank has its own line; `tid` is kept so that a reader can
    /// check the rank's events in order.
    static func counter(_ name: String, series: String, value: JSONValue, ts: Int, pid: Int, tid: Int) -> TraceEvent {
        TraceEvent(name: name, category: "counter", phase: "C", ts: ts, dur: nil, pid: pid, tid: tid, scope: nil, args: [], series: series, sample: value)
    }

    /// Before another event of the same thread and time: longer spans first, so that a parent
    /// precedes the spans nested in it whichever closed first.
    func precedes(_ other: TraceEvent) -> Bool {
        ts != other.ts ? ts < other.ts : (dur ?? -1) > (other.dur ?? -1)
    }

    /// Moved to `ts` when its thread has already been written past its time (a log whose clock
    /// went back): a span keeps its end.
    mutating func clamp(notBefore floor: Int) {
        guard ts < floor else { return }
        if let dur { self.dur = max(0, ts + dur - floor) }
        ts = floor
    }

    /// Its JSON text, written straight into `out` (a `JSONValue` per event cost more than the
    /// rest of the conversion).
    func write(into out: inout [UInt8]) {
        out.append(contentsOf: #"{"name":"#.utf8)
        TraceText.string(name, into: &out)
        out.append(contentsOf: #","cat":"#.utf8)
        TraceText.string(category, into: &out)
        out.append(contentsOf: #","ph":"#.utf8)
        TraceText.string(phase, into: &out)
        out.append(contentsOf: #","ts":"#.utf8)
        TraceText.int(ts, into: &out)
        if let dur {
            out.append(contentsOf: #","dur":"#.utf8)
            TraceText.int(dur, into: &out)
        }
        out.append(contentsOf: #","pid":"#.utf8)
        TraceText.int(pid, into: &out)
        out.append(contentsOf: #","tid":"#.utf8)
        TraceText.int(tid, into: &out)
        if let scope {
            out.append(contentsOf: #","s":"#.utf8)
            TraceText.string(scope, into: &out)
        }
        if let series, let sample {
            out.append(contentsOf: #","args":{"#.utf8)
            TraceText.string(series, into: &out)
            out.append(UInt8(ascii: ":"))
            switch sample {
            case let .int(value): TraceText.int(value, into: &out)
            case let .double(value) where value.isFinite: out.append(contentsOf: value.description.utf8)
            default: out.append(contentsOf: sample.serialized.utf8)
            }
            out.append(UInt8(ascii: "}"))
        } else if !args.isEmpty {
            out.append(contentsOf: #","args":"#.utf8)
            out.append(contentsOf: JSONValue.object(args).serialized.utf8)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// A metadata event (`M`): names and sort order of processes and threads.
    static func metadata(_ kind: String, pid: Int, tid: Int? = nil, args: [(String, JSONValue)]) -> JSONValue {
        var members: [(String, JSONValue)] = [("name", .string(kind)), ("ph", .string("M")), ("pid", .int(pid))]
        if let tid { members.append(("tid", .int(tid))) }
        members.append(("args", .object(args)))
        return .object(members)
    }
}

/// Trace events as JSON text, separated by commas, in the order appended: the inside of
/// `traceEvents`. Whoever writes it takes `bytes` now and then and empties it.
public struct TraceText: Sendable {
    public var bytes: [UInt8] = []
    /// Events appended so far.
    public private(set) var count = 0

    public init() {}

    /// The events appended, parsed back (`bytes` as they are now).
    public var values: [JSONValue] {
        guard !bytes.isEmpty else { return [] }
        return JSONValue.parse("[" + String(decoding: bytes, as: UTF8.self) + "]")?.arrayValue ?? []
    }

    private mutating func separate() {
        if count > 0 {
            bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: "\n"))
        }
        count += 1
    }

    mutating func append(_ value: JSONValue) {
        separate()
        bytes.append(contentsOf: value.serialized.utf8)
    }

    mutating func append(_ event: TraceEvent) {
        separate()
        event.write(into: &bytes)
    }

    /// A JSON string: copied as it is when nothing in it needs escaping (the names here almost
    /// never do), else escaped by `JSONValue`'s writer.
    static func string(_ text: String, into out: inout [UInt8]) {
        let plain = text.utf8.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 < 0x7F }
        if plain {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: JSONValue.string(text).serialized.utf8)
        }
    }

    /// Decimal digits without a `String` in between.
    static func int(_ value: Int, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }
}
