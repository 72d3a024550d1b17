/// Why a line was not accepted as an event. The message names the field and the problem, in the
/// words a report shows.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Decodes protocol-v1 JSON Lines into typed events, validating types and ranges.
///
/// It remembers the world size from the first `hello` it sees so that later ranks can be range
/// checked; one decoder reads one stream.
///
/// Speed matters here (a week-long run's log is hundreds of millions of lines): a line is scanned
/// once, scalar values are kept as plain numbers or byte ranges on the stack, and only the fields
/// an event needs become Swift values.
public struct EventDecoder: Sendable {
    /// Longest accepted line, without its newline.
    public static let maxLineBytes = 65_536
    /// Largest world (and so rank) accepted: far beyond any real run, small enough that a hostile
    /// line cannot make a reader allocate per-rank state for billions of ranks.
    public static let maxWorld = 1 << 20
    /// Largest counter accepted (`seq`, `n`, `step`, `count`, ...): 2^53, the largest integer a
    /// JSON number holds exactly in every language's parser. Far beyond any real run, and far
    /// enough below `Int.max` that a reader adding a few of them never overflows.
    public static let maxCounter = 1 << 53
    /// Timestamps outside these Unix seconds (1970 to 2286) are not a clock's: a hostile or broken
    /// emitter's value would otherwise print as year 0 and durations of centuries.
    public static let timestampRange: ClosedRange<Double> = 0...10_000_000_000

    /// The world size, once a `hello` has announced it.
    public var world: Int?
    /// The canonical path's metric names of the lines before (`CanonicalLine`).
    var metricNames = MetricNameCache()

    public init(world: Int? = nil) {
        self.world = world
    }

    public mutating func decode(_ line: String) -> Result<Event, DecodeError> {
        var copy = line
        return copy.withUTF8 { decode($0) }
    }

    public mutating func decode(_ line: [UInt8]) -> Result<Event, DecodeError> {
        line.withUnsafeBufferPointer { decode($0) }
    }

    /// `decode` for the lines `CanonicalLine` takes (nearly all of a log): the event, or nil and
    /// `decode` decides. No `Result` to build and destroy on the hot path.
    @inline(__always)
    mutating func decodeCanonical(_ line: UnsafeBufferPointer<UInt8>) -> Event? {
        guard line.count <= EventDecoder.maxLineBytes else { return nil }
        return CanonicalLine.decode(line, world: world, names: &metricNames)
    }

    /// Takes back an event that the reader is done with, so that the next progress line's
    /// metrics reuse its storage (`MetricNameCache.handBack`).
    @inline(__always)
    mutating func recycle(_ event: consuming Event) {
        if case let .progress(progress) = event.body { metricNames.handBack(progress.metrics) }
    }

    /// Decodes one line (without its newline).
    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>) -> Result<Event, DecodeError> {
        if line.count > EventDecoder.maxLineBytes {
            return .failure(DecodeError("line longer than \(EventDecoder.maxLineBytes) bytes"))
        }
        let world = self.world
        // Nearly every line of a log: straight through, or nil and the general scan below.
        if let event = CanonicalLine.decode(line, world: world, names: &metricNames) { return .success(event) }
        guard UTF8Validation.isValid(line) else { return .failure(DecodeError("invalid UTF-8")) }
        let result = withUnsafeTemporaryAllocation(of: FieldSlot.self, capacity: EventKey.caseCount) { slots in
            withUnsafeTemporaryAllocation(of: MetricSlot.self, capacity: LineFields.metricSlotCount) { metricSlots in
                // Left uninitialized: `LineFields.present` says which slots were written.
                var fields = LineFields(line: line, slots: slots, metricSlots: metricSlots)
                do throws(DecodeError) {
                    try fields.scan()
                    return Result<Event, DecodeError>.success(try fields.buildEvent(world: world))
                } catch {
                    return .failure(error)
                }
            }
        }
        // World first: once known, no event is pattern-matched (a copy of its payload) here.
        if self.world == nil, case let .success(event) = result, case let .hello(hello) = event.body {
            self.world = hello.world
        }
        return result
    }
}

/// A field's value as scanned: numbers and booleans parsed, strings and nested values left as
/// positions in the line until an accessor asks for them. Trivial, so it needs no cleanup.
///
/// Positions are 32-bit (a line is at most `maxLineBytes`): 16 bytes a slot keeps the line's
/// slots under the 1 KiB that `withUnsafeTemporaryAllocation` puts on the stack without asking;
/// at 24 bytes they went to the heap, an allocation per line.
enum FieldSlot {
    case absent
    case null
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(start: Int32, count: Int32, escaped: Bool)
    case composite(start: Int32, isObject: Bool)
}

/// A member of a metrics object as scanned: its name's place in the line, and its value.
struct MetricSlot {
    var nameStart: Int32
    var nameCount: Int32
    var escaped: Bool
    var value: Double
}

/// One line being decoded: its bytes and the slots its known fields were scanned into.
private struct LineFields: ~Copyable {
    let line: UnsafeBufferPointer<UInt8>
    let slots: UnsafeMutableBufferPointer<FieldSlot>
    /// Bit k set: the slot of the key with raw value k was written (the others are absent and
    /// their memory uninitialized). Protocol v1 has fewer than 64 keys.
    var present: UInt64 = 0
    var kind: EventKind?
    var kindProblem: DecodeError?

    /// The members of the last `metrics` object, recorded as the scan checked its syntax, so
    /// that building the event does not scan it again: `metricCount` of them, for the object at
    /// `metricsStart`; -1 when it had a member that is not a number or null, or more members than
    /// there are slots (the event is then built from a second scan, as before).
    let metricSlots: UnsafeMutableBufferPointer<MetricSlot>
    var metricCount = -1
    var metricsStart = -1
    static let metricSlotCount = 8

    init(line: UnsafeBufferPointer<UInt8>, slots: UnsafeMutableBufferPointer<FieldSlot>, metricSlots: UnsafeMutableBufferPointer<MetricSlot>) {
        self.line = line
        self.slots = slots
        self.metricSlots = metricSlots
    }

    mutating func scan() throws(DecodeError) {
        var scanner = JSONScanner(line)
        scanner.skipWhitespace()
        guard !scanner.atEnd else { throw DecodeError("empty line") }
        guard scanner.peek == UInt8(ascii: "{") else { throw DecodeError("not a JSON object") }
        do throws(JSONSyntaxError) {
            scanner.pos += 1
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "}") {
                scanner.pos += 1
            } else {
                while true {
                    scanner.skipWhitespace()
                    if let known = try scanKey(&scanner) {
                        let slot = known == .metrics && !scanner.atEnd && scanner.base[scanner.pos] == UInt8(ascii: "{")
                            ? try scanMetrics(&scanner)
                            : try scanSlot(&scanner)
                        if known == .kind {
                            noteKind(slot)
                        } else {
                            slots[known.rawValue] = slot
                            present |= 1 << UInt64(known.rawValue)
                        }
                    } else {
                        try scanner.skipValue()
                    }
                    scanner.skipWhitespace()
                    guard !scanner.atEnd else { throw scanner.fail("unterminated object") }
                    let c = scanner.base[scanner.pos]
                    scanner.pos += 1
                    if c == UInt8(ascii: "}") { break }
                    guard c == UInt8(ascii: ",") else { throw scanner.fail("expected ',' or '}'") }
                }
            }
            scanner.skipWhitespace()
            guard scanner.atEnd else { throw scanner.fail("trailing characters after the object") }
        } catch {
            throw DecodeError("invalid JSON: \(error.message) at byte \(error.offset + 1)")
        }
    }

    /// Scans a key, the ':' after it and the whitespace before its value; returns the key when
    /// protocol v1 defines it. A key of at most 7 bytes with 8 bytes readable after its quote
    /// (every key on the hot path) is matched from one word, without a second pass over it.
    @inline(__always)
    private func scanKey(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> EventKey? {
        let quote = scanner.pos
        var known: EventKey?
        if quote + 9 <= scanner.end, scanner.base[quote] == UInt8(ascii: "\"") {
            let word = UInt64(littleEndian: UnsafeRawPointer(scanner.base).loadUnaligned(fromByteOffset: quote + 1, as: UInt64.self))
            let special = JSONScanner.specialBytes(word)
            let count = special.trailingZeroBitCount >> 3
            if special != 0, (word >> (UInt64(count) << 3)) & 0xFF == UInt64(UInt8(ascii: "\"")) {
                scanner.pos = quote + count + 2
                known = count == 0 ? nil : EventKey.match(word: lowBytes(word, count), scanner.base + quote + 1, count: count)
            } else {
                known = try scanKeySlowly(&scanner)
            }
        } else {
            known = try scanKeySlowly(&scanner)
        }
        if scanner.pos < scanner.end, scanner.base[scanner.pos] == UInt8(ascii: ":") {
            scanner.pos += 1
        } else {
            try scanner.expect(UInt8(ascii: ":"), "':'")
        }
        scanner.skipWhitespace()
        return known
    }

    private func scanKeySlowly(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> EventKey? {
        let key = try scanner.scanStringRaw()
        guard !key.escaped else { return nil }
        return EventKey.match(scanner.base + key.start, count: key.count)
    }

    /// `scanSlot` for the metrics object: the same syntax checks as `skipValue` (the same
    /// errors at the same offsets), recording each member's name and number on the way.
    private mutating func scanMetrics(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> FieldSlot {
        let start = scanner.pos
        metricsStart = start
        metricCount = 0
        scanner.depth += 1
        defer { scanner.depth -= 1 }
        guard scanner.depth <= JSONScanner.maxDepth else { throw scanner.fail("nested too deeply") }
        scanner.pos += 1
        scanner.skipWhitespace()
        if scanner.peek == UInt8(ascii: "}") {
            scanner.pos += 1
        } else {
            while true {
                scanner.skipWhitespace()
                let name = try scanner.scanStringRaw()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace()
                guard !scanner.atEnd else { throw scanner.fail("expected a value") }
                let value: Double?
                switch scanner.base[scanner.pos] {
                case UInt8(ascii: "\""), UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "t"), UInt8(ascii: "f"):
                    try scanner.skipValue()
                    value = nil
                case UInt8(ascii: "n"):
                    try scanner.literalNull()
                    value = .nan
                default:
                    switch try scanner.scanNumber() {
                    case let .int(i): value = Double(i)
                    case let .double(d): value = d
                    }
                }
                if metricCount >= 0 {
                    if let value, metricCount < LineFields.metricSlotCount {
                        metricSlots[metricCount] = MetricSlot(
                            nameStart: Int32(truncatingIfNeeded: name.start), nameCount: Int32(truncatingIfNeeded: name.count),
                            escaped: name.escaped, value: value
                        )
                        metricCount += 1
                    } else {
                        metricCount = -1
                    }
                }
                scanner.skipWhitespace()
                guard !scanner.atEnd else { throw scanner.fail("unterminated object") }
                let c = scanner.base[scanner.pos]
                scanner.pos += 1
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { throw scanner.fail("expected ',' or '}'") }
            }
        }
        return .composite(start: Int32(truncatingIfNeeded: start), isObject: true)
    }

    @inline(__always)
    private func scanSlot(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> FieldSlot {
        guard !scanner.atEnd else { throw scanner.fail("expected a value") }
        switch scanner.base[scanner.pos] {
        case UInt8(ascii: "\""):
            let raw = try scanner.scanStringRaw()
            return .string(start: Int32(truncatingIfNeeded: raw.start), count: Int32(truncatingIfNeeded: raw.count), escaped: raw.escaped)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let start = scanner.pos
            try scanner.skipValue()
            return .composite(start: Int32(truncatingIfNeeded: start), isObject: line[start] == UInt8(ascii: "{"))
        case UInt8(ascii: "t"): try scanner.literalTrue(); return .bool(true)
        case UInt8(ascii: "f"): try scanner.literalFalse(); return .bool(false)
        case UInt8(ascii: "n"): try scanner.literalNull(); return .null
        default:
            switch try scanner.scanNumber() {
            case let .int(i): return .int(i)
            case let .double(d): return .double(d)
            }
        }
    }

    /// Known kinds are matched on their bytes, which avoids a String allocation.
    private mutating func noteKind(_ slot: FieldSlot) {
        kind = nil
        kindProblem = nil
        switch slot {
        case let .string(start32, count32, escaped):
            let (start, count) = (Int(start32), Int(count32))
            if !escaped, let known = matchKind(start: start, count: count) {
                kind = known
                return
            }
            let name = text(start: start, count: count, escaped: escaped)
            kindProblem = name == "stack.req"
                ? DecodeError("control line 'stack.req' is not an event")
                : DecodeError("unknown kind '\(name.prefix(40))'")
        case .null, .absent:
            kindProblem = DecodeError("missing field 'kind'")
        default:
            kindProblem = DecodeError("field 'kind': expected string, got \(typeName(slot))")
        }
    }

    /// The kind named by the bytes at `start`: two word loads when 16 bytes are readable there.
    @inline(__always)
    private func matchKind(start: Int, count: Int) -> EventKind? {
        let p = line.baseAddress! + start
        guard count <= 16 else { return nil }
        guard start + 16 <= line.count else { return EventKind.match(p, count: count) }
        let raw = UnsafeRawPointer(p)
        let low = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let high = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        return EventKind.match(low: lowBytes(low, count), high: count > 8 ? lowBytes(high, count - 8) : 0, count: count)
    }

    func buildEvent(world: Int?) throws(DecodeError) -> Event {
        if let kindProblem { throw kindProblem }
        guard let kind else { throw DecodeError("missing field 'kind'") }
        let rank = try int(.rank, min: -1, max: EventDecoder.maxWorld - 1)
        if let world, rank >= world { throw DecodeError("field 'rank': \(rank) is outside the world of \(world)") }
        let ts = try number(.ts)
        guard ts.isFinite else { throw DecodeError("field 'ts': not a finite number") }
        guard EventDecoder.timestampRange.contains(ts) else {
            throw DecodeError("field 'ts': \(ts) is not a Unix time between 1970 and 2286")
        }
        let seq = try optionalInt(.seq, min: 0, max: EventDecoder.maxCounter)
        if rank == -1, kind != .inject, kind != .log, kind != .discarded, kind != .stop, kind != .collector {
            throw DecodeError("field 'rank': -1 is only for run-wide events, not '\(kind.rawValue)'")
        }
        return Event(rank: rank, ts: ts, seq: seq, try body(kind, rank: rank))
    }

    private func body(_ kind: EventKind, rank: Int) throws(DecodeError) -> EventBody {
        switch kind {
        case .hello:
            let v = try int(.v)
            guard v == 1 else { throw DecodeError("field 'v': protocol version \(v) is not supported (expected 1)") }
            let world = try int(.world, min: 1, max: EventDecoder.maxWorld)
            guard rank < world else { throw DecodeError("field 'rank': \(rank) is outside the world of \(world) its hello announces") }
            return .hello(Hello(
                v: v, run: try string(.run), world: world,
                localRank: try int(.localRank, min: 0, max: EventDecoder.maxWorld - 1),
                localWorld: try int(.localWorld, min: 1, max: EventDecoder.maxWorld),
                node: try string(.node), pid: try int(.pid, min: 0, max: EventDecoder.maxCounter), runtime: try string(.runtime),
                timeout: try optionalNumber(.timeout), restart: try optionalInt(.restart, min: 0, max: EventDecoder.maxCounter),
                caps: try optionalStrings(.caps) ?? [], token: try optionalString(.token)
            ))
        case .progress:
            return .progress(Progress(
                step: try int(.step, min: 0, max: EventDecoder.maxCounter), total: try optionalInt(.total, min: 0, max: EventDecoder.maxCounter),
                epoch: try optionalNumber(.epoch), metrics: try metrics()
            ))
        case .barrierEnter:
            return .barrierEnter(BarrierEnter(
                n: try int(.n, min: 0, max: EventDecoder.maxCounter), name: try optionalString(.name),
                site: try optionalString(.site), phase: try optionalString(.phase)
            ))
        case .barrierExit:
            return .barrierExit(n: try int(.n, min: 0, max: EventDecoder.maxCounter))
        case .phaseEnter:
            let modeText = try string(.mode)
            guard let mode = PhaseMode(rawValue: modeText) else {
                throw DecodeError("field 'mode': '\(modeText.prefix(40))' is not main_first or local_main_first")
            }
            return .phaseEnter(PhaseEnter(name: try string(.name), mode: mode, main: try bool(.main)))
        case .phaseExit:
            return .phaseExit(name: try string(.name))
        case .triggerSet:
            let sourceText = try string(.source)
            guard let source = TriggerSource(rawValue: sourceText) else {
                throw DecodeError("field 'source': '\(sourceText.prefix(40))' is not code or manual")
            }
            return .triggerSet(TriggerSet(source: source, reason: try optionalString(.reason), id: try optionalString(.id)))
        case .triggerCheck:
            return .triggerCheck(n: try int(.n, min: 0, max: EventDecoder.maxCounter), fired: try bool(.fired))
        case .log:
            let levelText = try string(.level)
            guard let level = LogLevel(rawValue: levelText) else {
                throw DecodeError("field 'level': '\(levelText.prefix(40))' is not debug, info, warning or error")
            }
            return .log(level: level, msg: try string(.msg))
        case .heartbeat:
            return .heartbeat
        case .stack:
            return .stack(id: try string(.id), frames: try optionalStrings(.frames) ?? [])
        case .collectiveEnter:
            let maxRank = EventDecoder.maxWorld - 1
            return .collectiveEnter(CollectiveEnter(
                group: try string(.group), n: try int(.n, min: 0, max: EventDecoder.maxCounter), op: try string(.op),
                size: try optionalInt(.size, min: 1, max: EventDecoder.maxWorld),
                members: try optionalInts(.members, min: 0, max: maxRank, maxCount: EventDecoder.maxWorld),
                bytes: try optionalInt(.bytes, min: 0, max: EventDecoder.maxCounter), dtype: try optionalString(.dtype),
                site: try optionalString(.site), label: try optionalString(.label), isAsync: try optionalBool(.async)
            ))
        case .collectiveExit:
            return .collectiveExit(CollectiveExit(
                group: try string(.group), n: try int(.n, min: 0, max: EventDecoder.maxCounter), op: try optionalString(.op)
            ))
        case .bye:
            return .bye(code: try optionalInt(.code), error: try optionalString(.error))
        case .lost:
            return .lost(reason: try optionalString(.reason) ?? "")
        case .unreachable:
            return .unreachable(reason: try optionalString(.reason) ?? "")
        case .dropped:
            return .dropped(count: try int(.count, min: 0, max: EventDecoder.maxCounter))
        case .discarded:
            return .discarded(count: try int(.count, min: 0, max: EventDecoder.maxCounter), reason: try optionalString(.reason))
        case .inject:
            return .inject(Injection(id: try string(.id), reason: try optionalString(.reason), by: try optionalString(.by)))
        case .stop:
            return .stop(Stop(signal: try string(.signal), by: try optionalString(.by), reason: try optionalString(.reason), source: try optionalString(.source)))
        case .collector:
            guard rank == -1 else { throw DecodeError("field 'rank': a collector record is run-wide (-1), not rank \(rank)") }
            let state = try string(.state)
            guard let parsed = CollectorRecord.State(rawValue: state) else {
                throw DecodeError("field 'state': '\(state.prefix(40))' is not start or end")
            }
            return .collector(CollectorRecord(state: parsed, pid: try int(.pid, min: 0, max: EventDecoder.maxCounter), node: try string(.node)))
        }
    }

    // MARK: typed field access

    @inline(__always)
    private func slot(_ key: EventKey) -> FieldSlot {
        present & (1 << UInt64(key.rawValue)) != 0 ? slots[key.rawValue] : .absent
    }

    private func text(start: Int, count: Int, escaped: Bool) -> String {
        if !escaped { return String(decoding: UnsafeBufferPointer(rebasing: line[start..<start + count]), as: UTF8.self) }
        var scanner = JSONScanner(line)
        scanner.pos = start - 1
        return (try? scanner.parseString()) ?? ""
    }

    private func composite(_ start: Int) -> JSONValue {
        var scanner = JSONScanner(line)
        scanner.pos = start
        return (try? scanner.parseValue()) ?? .null
    }

    private func typeName(_ slot: FieldSlot) -> String {
        switch slot {
        case .absent, .null: "null"
        case .int: "integer"
        case .double: "number"
        case .bool: "boolean"
        case .string: "string"
        case let .composite(_, isObject): isObject ? "object" : "array"
        }
    }

    private func missing(_ key: EventKey) -> DecodeError { DecodeError("missing field '\(key.jsonName)'") }

    private func wrongType(_ key: EventKey, _ expected: String, _ got: FieldSlot) -> DecodeError {
        DecodeError("field '\(key.jsonName)': expected \(expected), got \(typeName(got))")
    }

    @inline(__always)
    private func optionalInt(_ key: EventKey, min: Int? = nil, max: Int? = nil) throws(DecodeError) -> Int? {
        let value = slot(key)
        let result: Int
        switch value {
        case .absent, .null: return nil
        case let .int(i): result = i
        case let .double(d) where d.isFinite && d.rounded() == d && abs(d) < 9e15: result = Int(d)
        default: throw wrongType(key, "integer", value)
        }
        if let min, result < min { throw DecodeError("field '\(key.jsonName)': \(result) is below \(min)") }
        if let max, result > max { throw DecodeError("field '\(key.jsonName)': \(result) is above the supported maximum \(max)") }
        return result
    }

    @inline(__always)
    private func int(_ key: EventKey, min: Int? = nil, max: Int? = nil) throws(DecodeError) -> Int {
        guard let result = try optionalInt(key, min: min, max: max) else { throw missing(key) }
        return result
    }

    @inline(__always)
    private func optionalNumber(_ key: EventKey) throws(DecodeError) -> Double? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: throw wrongType(key, "number", value)
        }
    }

    @inline(__always)
    private func number(_ key: EventKey) throws(DecodeError) -> Double {
        guard let result = try optionalNumber(key) else { throw missing(key) }
        return result
    }

    @inline(__always)
    private func optionalString(_ key: EventKey) throws(DecodeError) -> String? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .string(start, count, escaped): return text(start: Int(start), count: Int(count), escaped: escaped)
        default: throw wrongType(key, "string", value)
        }
    }

    @inline(__always)
    private func string(_ key: EventKey) throws(DecodeError) -> String {
        guard let result = try optionalString(key) else { throw missing(key) }
        return result
    }

    @inline(__always)
    private func bool(_ key: EventKey) throws(DecodeError) -> Bool {
        let value = slot(key)
        switch value {
        case .absent, .null: throw missing(key)
        case let .bool(b): return b
        default: throw wrongType(key, "boolean", value)
        }
    }

    @inline(__always)
    private func optionalBool(_ key: EventKey) throws(DecodeError) -> Bool? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .bool(b): return b
        default: throw wrongType(key, "boolean", value)
        }
    }

    /// An array of integers in `min...max` (a group's ranks), at most `maxCount` of them.
    private func optionalInts(_ key: EventKey, min: Int, max: Int, maxCount: Int) throws(DecodeError) -> [Int]? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .composite(start, false):
            guard case let .array(items) = composite(Int(start)) else { throw wrongType(key, "array of integers", value) }
            guard items.count <= maxCount else {
                throw DecodeError("field '\(key.jsonName)': \(items.count) entries is above the supported maximum \(maxCount)")
            }
            var result: [Int] = []
            result.reserveCapacity(items.count)
            for item in items {
                let rank: Int?
                switch item {
                case let .int(i): rank = i
                case let .double(d) where d.isFinite && d.rounded() == d && abs(d) < 9e15: rank = Int(d)
                default: rank = nil
                }
                guard let rank, rank >= min, rank <= max else {
                    throw DecodeError("field '\(key.jsonName)': expected integers from \(min) to \(max), got \(item.typeName)")
                }
                result.append(rank)
            }
            return result
        default: throw wrongType(key, "array of integers", value)
        }
    }

    private func optionalStrings(_ key: EventKey) throws(DecodeError) -> [String]? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .composite(start, false):
            guard case let .array(items) = composite(Int(start)) else { throw wrongType(key, "array of strings", value) }
            var result: [String] = []
            result.reserveCapacity(items.count)
            for item in items {
                guard case let .string(s) = item else {
                    throw DecodeError("field '\(key.jsonName)': expected array of strings, got \(item.typeName)")
                }
                result.append(s)
            }
            return result
        default: throw wrongType(key, "array of strings", value)
        }
    }

    /// Reads the metrics object straight into `Metric`s: the one nested value on the hot path.
    private func metrics() throws(DecodeError) -> [Metric] {
        let value = slot(.metrics)
        switch value {
        case .absent, .null: return []
        case let .composite(start, true) where Int(start) == metricsStart && metricCount >= 0:
            // Recorded by the scan: every member a number (or null), in order.
            var result: [Metric] = []
            result.reserveCapacity(metricCount)
            for i in 0..<metricCount {
                let m = metricSlots[i]
                result.append(Metric(text(start: Int(m.nameStart), count: Int(m.nameCount), escaped: m.escaped), m.value))
            }
            return result
        case let .composite(start, true):
            // The scan already checked the object's syntax; only the member types can be wrong.
            var scanner = JSONScanner(line)
            scanner.pos = Int(start) + 1
            var result: [Metric] = []
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "}") { return [] }
            // One allocation for the usual handful (a loss, a learning rate), not one per growth.
            result.reserveCapacity(4)
            while !scanner.atEnd {
                scanner.skipWhitespace()
                let name = (try? scanner.parseString()) ?? ""
                _ = try? scanner.expect(UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace()
                switch scanner.peek {
                case UInt8(ascii: "n"):
                    _ = try? scanner.literal("null")
                    result.append(Metric(name, .nan))
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "N"), UInt8(ascii: "I"):
                    switch try? scanner.scanNumber() {
                    case let .int(i)?: result.append(Metric(name, Double(i)))
                    case let .double(d)?: result.append(Metric(name, d))
                    case nil: break
                    }
                default:
                    let other = (try? scanner.parseValue()) ?? .null
                    throw DecodeError("field 'metrics.\(name.prefix(40))': expected number, got \(other.typeName)")
                }
                scanner.skipWhitespace()
                let c = scanner.peek
                scanner.pos += 1
                if c != UInt8(ascii: ",") { break }
            }
            return result
        default: throw wrongType(.metrics, "object", value)
        }
    }
}
