// A frozen copy of the event decoder as it was before issue 14's speedups (commit fe3bdcc:
// JSONScanner.swift, EventDecoder.swift and EventKey.swift), its types renamed with a
// `Reference` prefix. The differential tests decode the same lines with both and require the
// same events, the same rejections and the same reasons: the fast paths may change nothing but
// the speed. Do not speed up or "fix" this file: it is what the fast decoder is held to.
// (Protocol additions since are added here too, the slow way: the `collector` kind, `state`.)
@testable import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif


struct ReferenceJSONSyntaxError: Error {
    var message: String
    var offset: Int
}

/// A hand-written scanner over one line of bytes. Foundation's JSONDecoder manages about 20 MB/s;
/// events are flat and small, so scanning bytes directly is several times faster (see
/// docs/benchmarks.md). The caller guarantees the bytes are valid UTF-8.
struct ReferenceJSONScanner: ~Copyable {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int = 0
    /// Nesting guard: a hostile line of `[[[[...` must not exhaust the stack.
    var depth: Int = 0
    static let maxDepth = 32

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer has a nil base address. Every read checks `pos < end` first, so with
        // `end == 0` this placeholder address is never dereferenced.
        self.base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        self.end = buffer.count
    }

    @inline(__always) var atEnd: Bool { pos >= end }
    @inline(__always) var peek: UInt8 { pos < end ? base[pos] : 0 }

    func fail(_ message: String) -> ReferenceJSONSyntaxError { ReferenceJSONSyntaxError(message: message, offset: pos) }

    @inline(__always) mutating func skipWhitespace() {
        while pos < end {
            let c = base[pos]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { pos += 1 } else { return }
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(ReferenceJSONSyntaxError) {
        skipWhitespace()
        guard pos < end, base[pos] == byte else { throw fail("expected \(what)") }
        pos += 1
    }

    /// Scans a string whose opening quote is at `pos`; returns the raw byte range when the string
    /// has no escapes, so keys can be matched without allocating.
    mutating func scanStringRaw() throws(ReferenceJSONSyntaxError) -> (start: Int, count: Int, escaped: Bool) {
        guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        pos += 1
        let start = pos
        var escaped = false
        // Eight bytes at a time while none is a quote, a backslash or a control character.
        let raw = UnsafeRawPointer(base)
        while pos + 8 <= end {
            let word = raw.loadUnaligned(fromByteOffset: pos, as: UInt64.self)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
            if special & highs != 0 { break }
            pos += 8
        }
        while pos < end {
            let c = base[pos]
            if c == UInt8(ascii: "\"") {
                let count = pos - start
                pos += 1
                return (start, count, escaped)
            } else if c == UInt8(ascii: "\\") {
                escaped = true
                pos += 2
            } else if c < 0x20 {
                throw fail("control character in string")
            } else {
                pos += 1
            }
        }
        throw fail("unterminated string")
    }

    mutating func parseString() throws(ReferenceJSONSyntaxError) -> String {
        let raw = try scanStringRaw()
        if !raw.escaped {
            return String(decoding: UnsafeBufferPointer(start: base + raw.start, count: raw.count), as: UTF8.self)
        }
        return try unescape(start: raw.start, count: raw.count)
    }

    private func unescape(start: Int, count: Int) throws(ReferenceJSONSyntaxError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var i = start
        let stop = start + count
        while i < stop {
            let c = base[i]
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < stop else { throw ReferenceJSONSyntaxError(message: "bad escape", offset: i) }
            let e = base[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: i, stop: stop)
                i += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if i + 6 <= stop, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") {
                        let low = try hex4(at: i + 2, stop: stop)
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            i += 6
                        } else {
                            scalar = 0xFFFD
                        }
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    scalar = 0xFFFD
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: &out)
            default:
                throw ReferenceJSONSyntaxError(message: "bad escape", offset: i - 1)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func hex4(at i: Int, stop: Int) throws(ReferenceJSONSyntaxError) -> UInt32 {
        guard i + 4 <= stop else { throw ReferenceJSONSyntaxError(message: "bad \\u escape", offset: i) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = base[i + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw ReferenceJSONSyntaxError(message: "bad \\u escape", offset: i + k)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        for unit in UTF8.encode(s)! { out.append(unit) }
    }

    /// Parses any value. Numbers without fraction or exponent that fit an `Int` come back as `.int`.
    mutating func parseValue() throws(ReferenceJSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard pos < end else { throw fail("expected a value") }
        switch base[pos] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try parseNumber()
        }
    }

    mutating func literal(_ word: StaticString) throws(ReferenceJSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= end, memcmp(base + pos, word.utf8Start, n) == 0 else { throw fail("invalid literal") }
        pos += n
    }

    private mutating func parseObject() throws(ReferenceJSONSyntaxError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= ReferenceJSONScanner.maxDepth else { throw fail("nested too deeply") }
        pos += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if peek == UInt8(ascii: "}") { pos += 1; return .object(members) }
        while true {
            skipWhitespace()
            let key = try parseString()
            try expect(UInt8(ascii: ":"), "':'")
            members.append((key, try parseValue()))
            skipWhitespace()
            guard pos < end else { throw fail("unterminated object") }
            let c = base[pos]
            pos += 1
            if c == UInt8(ascii: "}") { return .object(members) }
            guard c == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
        }
    }

    private mutating func parseArray() throws(ReferenceJSONSyntaxError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= ReferenceJSONScanner.maxDepth else { throw fail("nested too deeply") }
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            items.append(try parseValue())
            skipWhitespace()
            guard pos < end else { throw fail("unterminated array") }
            let c = base[pos]
            pos += 1
            if c == UInt8(ascii: "]") { return .array(items) }
            guard c == UInt8(ascii: ",") else { throw fail("expected ',' or ']'") }
        }
    }

    private static let powersOfTen: [Double] = (0...22).map { k in
        var v = 1.0
        for _ in 0..<k { v *= 10 }
        return v
    }

    /// JSON numbers, plus the `NaN` / `Infinity` / `-Infinity` tokens that Python's json module
    /// writes for a diverged loss.
    mutating func parseNumber() throws(ReferenceJSONSyntaxError) -> JSONValue {
        let start = pos
        var negative = false
        if peek == UInt8(ascii: "-") { negative = true; pos += 1 }
        if peek == UInt8(ascii: "N") { try literal("NaN"); return .double(.nan) }
        if peek == UInt8(ascii: "I") { try literal("Infinity"); return .double(negative ? -.infinity : .infinity) }
        // Every digit counts toward the 19 an UInt64 holds; longer numbers (rare) go to strtod.
        var mantissa: UInt64 = 0
        var digits = 0
        let intStart = pos
        while pos < end {
            let d = base[pos] &- UInt8(ascii: "0")
            if d >= 10 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            pos += 1
        }
        digits = pos - intStart
        guard digits > 0 else { throw fail("invalid number") }
        if digits > 1, base[intStart] == UInt8(ascii: "0") { throw fail("invalid number (leading zero)") }
        var fractionDigits = 0
        var isInteger = true
        if pos < end, base[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            let fracStart = pos
            while pos < end {
                let d = base[pos] &- UInt8(ascii: "0")
                if d >= 10 { break }
                mantissa = mantissa &* 10 &+ UInt64(d)
                pos += 1
            }
            fractionDigits = pos - fracStart
            guard fractionDigits > 0 else { throw fail("invalid number") }
            digits += fractionDigits
        }
        let overflow = digits > 19
        var exponent = 0
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            var expNegative = false
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { expNegative = peek == UInt8(ascii: "-"); pos += 1 }
            let expStart = pos
            while pos < end, base[pos] &- UInt8(ascii: "0") < 10 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(base[pos] &- UInt8(ascii: "0")) }
                pos += 1
            }
            guard pos > expStart else { throw fail("invalid number") }
            if expNegative { exponent = -exponent }
        }
        if isInteger, !overflow, mantissa <= UInt64(Int.max) {
            return .int(negative ? -Int(mantissa) : Int(mantissa))
        }
        // Clinger's fast path: an exact mantissa below 2^53 scaled by an exact power of ten rounds
        // correctly in one operation. Everything else goes to strtod.
        let scale = exponent - fractionDigits
        if !overflow, mantissa < (1 << 53), scale >= -22, scale <= 22 {
            var value = Double(mantissa)
            value = scale < 0 ? value / ReferenceJSONScanner.powersOfTen[-scale] : value * ReferenceJSONScanner.powersOfTen[scale]
            return .double(negative ? -value : value)
        }
        return .double(slowDouble(start: start, count: pos - start))
    }

    private func slowDouble(start: Int, count: Int) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
            for k in 0..<count { buffer[k] = CChar(bitPattern: base[start + k]) }
            buffer[count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// Skips a value without building it (unknown fields are still checked for syntax).
    mutating func skipValue() throws(ReferenceJSONSyntaxError) {
        skipWhitespace()
        guard pos < end else { throw fail("expected a value") }
        switch base[pos] {
        case UInt8(ascii: "\""): _ = try scanStringRaw()
        case UInt8(ascii: "{"): try skipContainer(close: UInt8(ascii: "}"), isObject: true)
        case UInt8(ascii: "["): try skipContainer(close: UInt8(ascii: "]"), isObject: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try parseNumber()
        }
    }

    /// Checks and steps over an object or array without building it.
    private mutating func skipContainer(close: UInt8, isObject: Bool) throws(ReferenceJSONSyntaxError) {
        depth += 1
        defer { depth -= 1 }
        guard depth <= ReferenceJSONScanner.maxDepth else { throw fail("nested too deeply") }
        pos += 1
        skipWhitespace()
        if peek == close { pos += 1; return }
        while true {
            if isObject {
                skipWhitespace()
                _ = try scanStringRaw()
                try expect(UInt8(ascii: ":"), "':'")
            }
            try skipValue()
            skipWhitespace()
            guard pos < end else { throw fail(isObject ? "unterminated object" : "unterminated array") }
            let c = base[pos]
            pos += 1
            if c == close { return }
            guard c == UInt8(ascii: ",") else { throw fail(isObject ? "expected ',' or '}'" : "expected ',' or ']'") }
        }
    }
}


/// The field names protocol v1 defines. Keys are matched on raw bytes, by length and first byte,
/// so decoding a line allocates nothing for the keys themselves.
enum ReferenceEventKey: Int, CaseIterable {
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
    static func match(_ p: UnsafePointer<UInt8>, count: Int) -> ReferenceEventKey? {
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
            case UInt8(ascii: "s"): return rest("state") ? .state : nil
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

enum ReferenceEventKindMatch {
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
        case 9: return rest("heartbeat") ? .heartbeat : rest("discarded") ? .discarded : rest("collector") ? .collector : nil
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

/// Decodes protocol-v1 JSON Lines into typed events, validating types and ranges.
///
/// It remembers the world size from the first `hello` it sees so that later ranks can be range
/// checked; one decoder reads one stream.
///
/// Speed matters here (a week-long run's log is hundreds of millions of lines): a line is scanned
/// once, scalar values are kept as plain numbers or byte ranges on the stack, and only the fields
/// an event needs become Swift values.
struct ReferenceEventDecoder: Sendable {
    /// Longest accepted line, without its newline.
    static let maxLineBytes = 65_536
    /// Largest world (and so rank) accepted: far beyond any real run, small enough that a hostile
    /// line cannot make a reader allocate per-rank state for billions of ranks.
    static let maxWorld = 1 << 20
    /// Largest counter accepted (`seq`, `n`, `step`, `count`, ...): 2^53, the largest integer a
    /// JSON number holds exactly in every language's parser. Far beyond any real run, and far
    /// enough below `Int.max` that a reader adding a few of them never overflows.
    static let maxCounter = 1 << 53
    /// Timestamps outside these Unix seconds (1970 to 2286) are not a clock's: a hostile or broken
    /// emitter's value would otherwise print as year 0 and durations of centuries.
    static let timestampRange: ClosedRange<Double> = 0...10_000_000_000

    /// The world size, once a `hello` has announced it.
    var world: Int?

    init(world: Int? = nil) {
        self.world = world
    }

    mutating func decode(_ line: String) -> Result<Event, DecodeError> {
        var copy = line
        return copy.withUTF8 { decode($0) }
    }

    mutating func decode(_ line: [UInt8]) -> Result<Event, DecodeError> {
        line.withUnsafeBufferPointer { decode($0) }
    }

    /// Decodes one line (without its newline).
    mutating func decode(_ line: UnsafeBufferPointer<UInt8>) -> Result<Event, DecodeError> {
        if line.count > ReferenceEventDecoder.maxLineBytes {
            return .failure(DecodeError("line longer than \(ReferenceEventDecoder.maxLineBytes) bytes"))
        }
        guard UTF8Validation.isValid(line) else { return .failure(DecodeError("invalid UTF-8")) }
        let world = self.world
        let result = withUnsafeTemporaryAllocation(of: ReferenceFieldSlot.self, capacity: ReferenceEventKey.caseCount) { slots in
            slots.initialize(repeating: .absent)
            var fields = ReferenceLineFields(line: line, slots: slots)
            do throws(DecodeError) {
                try fields.scan()
                return Result<Event, DecodeError>.success(try fields.buildEvent(world: world))
            } catch {
                return .failure(error)
            }
        }
        if case let .success(event) = result, case let .hello(hello) = event.body, self.world == nil {
            self.world = hello.world
        }
        return result
    }
}

/// A field's value as scanned: numbers and booleans parsed, strings and nested values left as
/// positions in the line until an accessor asks for them. Trivial, so it needs no cleanup.
enum ReferenceFieldSlot {
    case absent
    case null
    case int(Int)
    case double(Double)
    case bool(Bool)
    case string(start: Int, count: Int, escaped: Bool)
    case composite(start: Int, isObject: Bool)
}

/// One line being decoded: its bytes and the slots its known fields were scanned into.
private struct ReferenceLineFields: ~Copyable {
    let line: UnsafeBufferPointer<UInt8>
    let slots: UnsafeMutableBufferPointer<ReferenceFieldSlot>
    var kind: EventKind?
    var kindProblem: DecodeError?

    init(line: UnsafeBufferPointer<UInt8>, slots: UnsafeMutableBufferPointer<ReferenceFieldSlot>) {
        self.line = line
        self.slots = slots
    }

    mutating func scan() throws(DecodeError) {
        var scanner = ReferenceJSONScanner(line)
        scanner.skipWhitespace()
        guard !scanner.atEnd else { throw DecodeError("empty line") }
        guard scanner.peek == UInt8(ascii: "{") else { throw DecodeError("not a JSON object") }
        do throws(ReferenceJSONSyntaxError) {
            scanner.pos += 1
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "}") {
                scanner.pos += 1
            } else {
                while true {
                    scanner.skipWhitespace()
                    let key = try scanner.scanStringRaw()
                    try scanner.expect(UInt8(ascii: ":"), "':'")
                    scanner.skipWhitespace()
                    if !key.escaped, let known = ReferenceEventKey.match(scanner.base + key.start, count: key.count) {
                        let slot = try scanSlot(&scanner)
                        if known == .kind { noteKind(slot) } else { slots[known.rawValue] = slot }
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

    private func scanSlot(_ scanner: inout ReferenceJSONScanner) throws(ReferenceJSONSyntaxError) -> ReferenceFieldSlot {
        guard !scanner.atEnd else { throw scanner.fail("expected a value") }
        switch scanner.base[scanner.pos] {
        case UInt8(ascii: "\""):
            let raw = try scanner.scanStringRaw()
            return .string(start: raw.start, count: raw.count, escaped: raw.escaped)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let start = scanner.pos
            try scanner.skipValue()
            return .composite(start: start, isObject: line[start] == UInt8(ascii: "{"))
        case UInt8(ascii: "t"): try scanner.literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try scanner.literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try scanner.literal("null"); return .null
        default:
            switch try scanner.parseNumber() {
            case let .int(i): return .int(i)
            case let .double(d): return .double(d)
            default: throw scanner.fail("invalid number")
            }
        }
    }

    /// Known kinds are matched on their bytes, which avoids a String allocation.
    private mutating func noteKind(_ slot: ReferenceFieldSlot) {
        kind = nil
        kindProblem = nil
        switch slot {
        case let .string(start, count, escaped):
            if !escaped, let known = ReferenceEventKindMatch.match(line.baseAddress! + start, count: count) {
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

    func buildEvent(world: Int?) throws(DecodeError) -> Event {
        if let kindProblem { throw kindProblem }
        guard let kind else { throw DecodeError("missing field 'kind'") }
        let rank = try int(.rank, min: -1, max: ReferenceEventDecoder.maxWorld - 1)
        if let world, rank >= world { throw DecodeError("field 'rank': \(rank) is outside the world of \(world)") }
        let ts = try number(.ts)
        guard ts.isFinite else { throw DecodeError("field 'ts': not a finite number") }
        guard ReferenceEventDecoder.timestampRange.contains(ts) else {
            throw DecodeError("field 'ts': \(ts) is not a Unix time between 1970 and 2286")
        }
        let seq = try optionalInt(.seq, min: 0, max: ReferenceEventDecoder.maxCounter)
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
            let world = try int(.world, min: 1, max: ReferenceEventDecoder.maxWorld)
            guard rank < world else { throw DecodeError("field 'rank': \(rank) is outside the world of \(world) its hello announces") }
            return .hello(Hello(
                v: v, run: try string(.run), world: world,
                localRank: try int(.localRank, min: 0, max: ReferenceEventDecoder.maxWorld - 1),
                localWorld: try int(.localWorld, min: 1, max: ReferenceEventDecoder.maxWorld),
                node: try string(.node), pid: try int(.pid, min: 0, max: ReferenceEventDecoder.maxCounter), runtime: try string(.runtime),
                timeout: try optionalNumber(.timeout), restart: try optionalInt(.restart, min: 0, max: ReferenceEventDecoder.maxCounter),
                caps: try optionalStrings(.caps) ?? [], token: try optionalString(.token)
            ))
        case .progress:
            return .progress(Progress(
                step: try int(.step, min: 0, max: ReferenceEventDecoder.maxCounter), total: try optionalInt(.total, min: 0, max: ReferenceEventDecoder.maxCounter),
                epoch: try optionalNumber(.epoch), metrics: try metrics()
            ))
        case .barrierEnter:
            return .barrierEnter(BarrierEnter(
                n: try int(.n, min: 0, max: ReferenceEventDecoder.maxCounter), name: try optionalString(.name),
                site: try optionalString(.site), phase: try optionalString(.phase)
            ))
        case .barrierExit:
            return .barrierExit(n: try int(.n, min: 0, max: ReferenceEventDecoder.maxCounter))
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
            return .triggerCheck(n: try int(.n, min: 0, max: ReferenceEventDecoder.maxCounter), fired: try bool(.fired))
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
            let maxRank = ReferenceEventDecoder.maxWorld - 1
            return .collectiveEnter(CollectiveEnter(
                group: try string(.group), n: try int(.n, min: 0, max: ReferenceEventDecoder.maxCounter), op: try string(.op),
                size: try optionalInt(.size, min: 1, max: ReferenceEventDecoder.maxWorld),
                members: try optionalInts(.members, min: 0, max: maxRank, maxCount: ReferenceEventDecoder.maxWorld),
                bytes: try optionalInt(.bytes, min: 0, max: ReferenceEventDecoder.maxCounter), dtype: try optionalString(.dtype),
                site: try optionalString(.site), label: try optionalString(.label), isAsync: try optionalBool(.async)
            ))
        case .collectiveExit:
            return .collectiveExit(CollectiveExit(
                group: try string(.group), n: try int(.n, min: 0, max: ReferenceEventDecoder.maxCounter), op: try optionalString(.op)
            ))
        case .bye:
            return .bye(code: try optionalInt(.code), error: try optionalString(.error))
        case .lost:
            return .lost(reason: try optionalString(.reason) ?? "")
        case .unreachable:
            return .unreachable(reason: try optionalString(.reason) ?? "")
        case .dropped:
            return .dropped(count: try int(.count, min: 0, max: ReferenceEventDecoder.maxCounter))
        case .discarded:
            return .discarded(count: try int(.count, min: 0, max: ReferenceEventDecoder.maxCounter), reason: try optionalString(.reason))
        case .inject:
            return .inject(Injection(id: try string(.id), reason: try optionalString(.reason), by: try optionalString(.by)))
        case .stop:
            return .stop(Stop(signal: try string(.signal), by: try optionalString(.by), reason: try optionalString(.reason)))
        case .collector:
            guard rank == -1 else { throw DecodeError("field 'rank': a collector record is run-wide (-1), not rank \(rank)") }
            let state = try string(.state)
            guard let parsed = CollectorRecord.State(rawValue: state) else {
                throw DecodeError("field 'state': '\(state.prefix(40))' is not start or end")
            }
            return .collector(CollectorRecord(state: parsed, pid: try int(.pid, min: 0, max: ReferenceEventDecoder.maxCounter), node: try string(.node)))
        }
    }

    // MARK: typed field access

    private func slot(_ key: ReferenceEventKey) -> ReferenceFieldSlot {
        slots[key.rawValue]
    }

    private func text(start: Int, count: Int, escaped: Bool) -> String {
        if !escaped { return String(decoding: UnsafeBufferPointer(rebasing: line[start..<start + count]), as: UTF8.self) }
        var scanner = ReferenceJSONScanner(line)
        scanner.pos = start - 1
        return (try? scanner.parseString()) ?? ""
    }

    private func composite(_ start: Int) -> JSONValue {
        var scanner = ReferenceJSONScanner(line)
        scanner.pos = start
        return (try? scanner.parseValue()) ?? .null
    }

    private func typeName(_ slot: ReferenceFieldSlot) -> String {
        switch slot {
        case .absent, .null: "null"
        case .int: "integer"
        case .double: "number"
        case .bool: "boolean"
        case .string: "string"
        case let .composite(_, isObject): isObject ? "object" : "array"
        }
    }

    private func missing(_ key: ReferenceEventKey) -> DecodeError { DecodeError("missing field '\(key.jsonName)'") }

    private func wrongType(_ key: ReferenceEventKey, _ expected: String, _ got: ReferenceFieldSlot) -> DecodeError {
        DecodeError("field '\(key.jsonName)': expected \(expected), got \(typeName(got))")
    }

    private func optionalInt(_ key: ReferenceEventKey, min: Int? = nil, max: Int? = nil) throws(DecodeError) -> Int? {
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

    private func int(_ key: ReferenceEventKey, min: Int? = nil, max: Int? = nil) throws(DecodeError) -> Int {
        guard let result = try optionalInt(key, min: min, max: max) else { throw missing(key) }
        return result
    }

    private func optionalNumber(_ key: ReferenceEventKey) throws(DecodeError) -> Double? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: throw wrongType(key, "number", value)
        }
    }

    private func number(_ key: ReferenceEventKey) throws(DecodeError) -> Double {
        guard let result = try optionalNumber(key) else { throw missing(key) }
        return result
    }

    private func optionalString(_ key: ReferenceEventKey) throws(DecodeError) -> String? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .string(start, count, escaped): return text(start: start, count: count, escaped: escaped)
        default: throw wrongType(key, "string", value)
        }
    }

    private func string(_ key: ReferenceEventKey) throws(DecodeError) -> String {
        guard let result = try optionalString(key) else { throw missing(key) }
        return result
    }

    private func bool(_ key: ReferenceEventKey) throws(DecodeError) -> Bool {
        let value = slot(key)
        switch value {
        case .absent, .null: throw missing(key)
        case let .bool(b): return b
        default: throw wrongType(key, "boolean", value)
        }
    }

    private func optionalBool(_ key: ReferenceEventKey) throws(DecodeError) -> Bool? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .bool(b): return b
        default: throw wrongType(key, "boolean", value)
        }
    }

    /// An array of integers in `min...max` (a group's ranks), at most `maxCount` of them.
    private func optionalInts(_ key: ReferenceEventKey, min: Int, max: Int, maxCount: Int) throws(DecodeError) -> [Int]? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .composite(start, false):
            guard case let .array(items) = composite(start) else { throw wrongType(key, "array of integers", value) }
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

    private func optionalStrings(_ key: ReferenceEventKey) throws(DecodeError) -> [String]? {
        let value = slot(key)
        switch value {
        case .absent, .null: return nil
        case let .composite(start, false):
            guard case let .array(items) = composite(start) else { throw wrongType(key, "array of strings", value) }
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
        case let .composite(start, true):
            // The scan already checked the object's syntax; only the member types can be wrong.
            var scanner = ReferenceJSONScanner(line)
            scanner.pos = start + 1
            var result: [Metric] = []
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "}") { return [] }
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
                    switch try? scanner.parseNumber() {
                    case let .int(i)?: result.append(Metric(name, Double(i)))
                    case let .double(d)?: result.append(Metric(name, d))
                    default: break
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

