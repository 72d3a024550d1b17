#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON value, for the few nested places of an event (metrics, caps, frames) and for fields
/// whose type is checked after the key is known.
public enum JSONValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])
    /// An array of integers held as ranges (a report's silent or missing ranks); written and
    /// compared as the array it stands for.
    case ranks(RankSet)

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.double(a), .double(b)): a == b || (a.isNaN && b.isNaN)
        // JSON has one number type: 30 and 30.0 are the same value.
        case let (.int(a), .double(b)), let (.double(b), .int(a)): Double(a) == b
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        case let (.array(a), .array(b)): a == b
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.ranks(a), .ranks(b)): a == b
        case let (.ranks(a), .array(b)), let (.array(b), .ranks(a)): a.count == b.count && zip(a, b).allSatisfy { JSONValue.int($0) == $1 }
        default: false
        }
    }

    var typeName: String {
        switch self {
        case .string: "string"
        case .int: "integer"
        case .double: "number"
        case .bool: "boolean"
        case .null: "null"
        case .array, .ranks: "array"
        case .object: "object"
        }
    }
}

/// A scanned JSON number: integers that fit an `Int` exactly, everything else as a Double.
enum JSONNumber: Equatable {
    case int(Int)
    case double(Double)
}

struct JSONSyntaxError: Error {
    var message: String
    var offset: Int
}

/// A hand-written scanner over one line of bytes. Foundation's JSONDecoder manages about 20 MB/s;
/// events are flat and small, so scanning bytes directly is several times faster (see
/// docs/benchmarks.md). The caller guarantees the bytes are valid UTF-8.
struct JSONScanner: ~Copyable {
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

    func fail(_ message: String) -> JSONSyntaxError { JSONSyntaxError(message: message, offset: pos) }

    @inline(__always) mutating func skipWhitespace() {
        while pos < end {
            let c = base[pos]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { pos += 1 } else { return }
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        skipWhitespace()
        guard pos < end, base[pos] == byte else { throw fail("expected \(what)") }
        pos += 1
    }

    /// Scans a string whose opening quote is at `pos`; returns the raw byte range when the string
    /// has no escapes, so keys can be matched without allocating.
    @inline(__always)
    mutating func scanStringRaw() throws(JSONSyntaxError) -> (start: Int, count: Int, escaped: Bool) {
        guard pos < end, base[pos] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        pos += 1
        let start = pos
        var escaped = false
        let raw = UnsafeRawPointer(base)
        while true {
            // Eight bytes at a time: the lowest byte flagged as a quote, a backslash or a control
            // character is exactly the first such byte (the flags above it may be spurious), so
            // the scan jumps straight to it.
            while pos + 8 <= end {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                let special = JSONScanner.specialBytes(word)
                if special != 0 {
                    pos += special.trailingZeroBitCount >> 3
                    break
                }
                pos += 8
            }
            guard pos < end else { throw fail("unterminated string") }
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
    }

    /// The high bit of each byte of `word` that is a quote, a backslash or below 0x20; exact for
    /// the lowest such byte, possibly spurious above it.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        return (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)) & highs
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        let raw = try scanStringRaw()
        if !raw.escaped {
            return String(decoding: UnsafeBufferPointer(start: base + raw.start, count: raw.count), as: UTF8.self)
        }
        return try unescape(start: raw.start, count: raw.count)
    }

    private func unescape(start: Int, count: Int) throws(JSONSyntaxError) -> String {
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
            guard i + 1 < stop else { throw JSONSyntaxError(message: "bad escape", offset: i) }
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
                throw JSONSyntaxError(message: "bad escape", offset: i - 1)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func hex4(at i: Int, stop: Int) throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= stop else { throw JSONSyntaxError(message: "bad \\u escape", offset: i) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = base[i + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw JSONSyntaxError(message: "bad \\u escape", offset: i + k)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    private func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        for unit in UTF8.encode(s)! { out.append(unit) }
    }

    /// Parses any value. Numbers without fraction or exponent that fit an `Int` come back as `.int`.
    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
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

    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        guard pos + n <= end, memcmp(base + pos, word.utf8Start, n) == 0 else { throw fail("invalid literal") }
        pos += n
    }

    /// `literal` for the three JSON words, compared as one word load when eight bytes are
    /// readable (`expected`: the word's bytes, little-endian; `n`: its length).
    @inline(__always)
    mutating func literal(_ word: StaticString, expected: UInt64, _ n: Int) throws(JSONSyntaxError) {
        if pos + 8 <= end {
            let loaded = UInt64(littleEndian: UnsafeRawPointer(base).loadUnaligned(fromByteOffset: pos, as: UInt64.self))
            guard loaded & ((1 << (UInt64(n) << 3)) &- 1) == expected else { throw fail("invalid literal") }
            pos += n
        } else {
            try literal(word)
        }
    }

    @inline(__always) mutating func literalTrue() throws(JSONSyntaxError) { try literal("true", expected: 0x6575_7274, 4) }
    @inline(__always) mutating func literalFalse() throws(JSONSyntaxError) { try literal("false", expected: 0x65_736C_6166, 5) }
    @inline(__always) mutating func literalNull() throws(JSONSyntaxError) { try literal("null", expected: 0x6C6C_756E, 4) }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JSONScanner.maxDepth else { throw fail("nested too deeply") }
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

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JSONScanner.maxDepth else { throw fail("nested too deeply") }
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

    /// 10^k for the exact powers a Double holds (k in 0...22): constants, no table to initialize.
    @inline(__always)
    static func exactPowerOfTen(_ k: Int) -> Double {
        switch k {
        case 0: 1e0
        case 1: 1e1
        case 2: 1e2
        case 3: 1e3
        case 4: 1e4
        case 5: 1e5
        case 6: 1e6
        case 7: 1e7
        case 8: 1e8
        case 9: 1e9
        case 10: 1e10
        case 11: 1e11
        case 12: 1e12
        case 13: 1e13
        case 14: 1e14
        case 15: 1e15
        case 16: 1e16
        case 17: 1e17
        case 18: 1e18
        case 19: 1e19
        case 20: 1e20
        case 21: 1e21
        default: 1e22
        }
    }

    /// JSON numbers, plus the `NaN` / `Infinity` / `-Infinity` tokens that Python's json module
    /// writes for a diverged loss.
    mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        switch try scanNumber() {
        case let .int(i): .int(i)
        case let .double(d): .double(d)
        }
    }

    /// Eight ASCII digits at once (little-endian word), or nil when any of the eight is not one.
    @inline(__always)
    static func eightDigits(_ word: UInt64) -> UInt64? {
        leadingDigits(word) == 8 ? eightDigitsValue(word) : nil
    }

    /// Steps over a run of digits from `pos`, folding them into `mantissa` (wrapping: the caller
    /// counts digits and knows when it overflowed). While eight bytes are readable, a word at a
    /// time: the digits before the first non-digit of the word, however many, are folded at once.
    @inline(__always)
    mutating func scanDigits(into mantissa: inout UInt64) {
        let raw = UnsafeRawPointer(base)
        while pos + 8 <= end {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
            let digits = JSONScanner.leadingDigits(word)
            if digits == 8 {
                mantissa = mantissa &* 100_000_000 &+ JSONScanner.eightDigitsValue(word)
                pos += 8
                continue
            }
            if digits > 0 {
                // The digits moved to the top bytes, '0's below them: the same value.
                let shift = UInt64(8 - digits) << 3
                let padded = (word << shift) | (0x3030_3030_3030_3030 >> (64 - shift))
                mantissa = mantissa &* JSONScanner.powerOfTenInteger(digits) &+ JSONScanner.eightDigitsValue(padded)
                pos += digits
            }
            return
        }
        while pos < end {
            let d = base[pos] &- UInt8(ascii: "0")
            if d >= 10 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            pos += 1
        }
    }

    /// How many of the word's bytes, from the first, are ASCII digits (0...8). A byte flags as a
    /// non-digit when its high nibble is not 3 or its low nibble is over 9; the lowest flag is
    /// exact (a carry out of a non-digit byte can only flag bytes above it).
    @inline(__always)
    static func leadingDigits(_ word: UInt64) -> Int {
        let x = word ^ 0x3030_3030_3030_3030
        let flags = (x | (x &+ 0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0
        return flags.trailingZeroBitCount >> 3
    }

    /// The value of eight ASCII digits (little-endian word, first digit lowest), unchecked.
    @inline(__always)
    static func eightDigitsValue(_ word: UInt64) -> UInt64 {
        var v = word &- 0x3030_3030_3030_3030
        v = (v &* 10) &+ (v >> 8)
        v = (((v & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32)))
            &+ (((v >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32)))) >> 32
        return v & 0xFFFF_FFFF
    }

    /// 10^k for k in 1...7.
    @inline(__always)
    static func powerOfTenInteger(_ k: Int) -> UInt64 {
        switch k {
        case 1: 10
        case 2: 100
        case 3: 1000
        case 4: 10000
        case 5: 100_000
        case 6: 1_000_000
        default: 10_000_000
        }
    }

    /// `parseNumber` without the general value type: what the decoder's scalar slots take.
    @inline(__always)
    mutating func scanNumber() throws(JSONSyntaxError) -> JSONNumber {
        let start = pos
        var negative = false
        if peek == UInt8(ascii: "-") { negative = true; pos += 1 }
        if peek == UInt8(ascii: "N") { try literal("NaN"); return .double(.nan) }
        if peek == UInt8(ascii: "I") { try literal("Infinity"); return .double(negative ? -.infinity : .infinity) }
        // Every digit counts toward the 19 an UInt64 holds; longer numbers (rare) go to strtod.
        var mantissa: UInt64 = 0
        let intStart = pos
        scanDigits(into: &mantissa)
        var digits = pos - intStart
        guard digits > 0 else { throw fail("invalid number") }
        if digits > 1, base[intStart] == UInt8(ascii: "0") { throw fail("invalid number (leading zero)") }
        var fractionDigits = 0
        var isInteger = true
        if pos < end, base[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            let fracStart = pos
            scanDigits(into: &mantissa)
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
            value = scale < 0 ? value / JSONScanner.exactPowerOfTen(-scale) : value * JSONScanner.exactPowerOfTen(scale)
            return .double(negative ? -value : value)
        }
        return .double(slowDouble(start: start, count: pos - start))
    }

    /// The number as strtod reads it: the reference the fast paths must agree with (tests).
    func slowNumber(start: Int, count: Int) -> Double { slowDouble(start: start, count: count) }

    private func slowDouble(start: Int, count: Int) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer in
            for k in 0..<count { buffer[k] = CChar(bitPattern: base[start + k]) }
            buffer[count] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// Skips a value without building it (unknown fields are still checked for syntax).
    mutating func skipValue() throws(JSONSyntaxError) {
        skipWhitespace()
        guard pos < end else { throw fail("expected a value") }
        switch base[pos] {
        case UInt8(ascii: "\""): _ = try scanStringRaw()
        case UInt8(ascii: "{"): try skipContainer(close: UInt8(ascii: "}"), isObject: true)
        case UInt8(ascii: "["): try skipContainer(close: UInt8(ascii: "]"), isObject: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try scanNumber()
        }
    }

    /// Checks and steps over an object or array without building it.
    private mutating func skipContainer(close: UInt8, isObject: Bool) throws(JSONSyntaxError) {
        depth += 1
        defer { depth -= 1 }
        guard depth <= JSONScanner.maxDepth else { throw fail("nested too deeply") }
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
