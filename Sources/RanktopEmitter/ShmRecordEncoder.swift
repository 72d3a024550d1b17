import RanktopProtocol

/// The shared-memory emitter's encoder for the kinds a training loop emits all the time
/// (progress, barriers, collectives, trigger checks): bytes written straight into a buffer on the
/// caller's stack, digits by hand. `EventEncoder` builds an array and formats every number
/// through `String`: 1.6 us of the 1.7 us a shared-memory emit took (docs/benchmarks.md, "Shared
/// memory"). Other kinds (hello, logs, stacks) take `EventEncoder`: they are rare. The records
/// decode to the same events as `EventEncoder`'s lines (a test checks every kind it handles).
struct ShmRecordEncoder {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false
    // The event being encoded: its rank, `ts` and `seq`, and `ts` in whole microseconds if known.
    private var rank = 0
    private var ts = 0.0
    private var micros: Int?
    private var seq: Int?

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Writes the record for `event`; false when this encoder does not handle its kind (or the
    /// buffer is too small): use `EventEncoder`. `micros`: `event.ts` in whole microseconds, when
    /// the caller has it (the emitter reads the clock that way).
    static func encode(_ event: Event, micros: Int? = nil, into buffer: inout ShmRecordEncoder) -> Bool {
        encode(event.body, rank: event.rank, ts: event.ts, micros: micros, seq: event.seq, into: &buffer)
    }

    /// The same from an event's parts: the emitter encodes what it was handed, without making an
    /// `Event` of it first (copying one in and out of its calls was a tenth of an emit).
    static func encode(
        _ body: borrowing EventBody, rank: Int, ts: Double, micros: Int?, seq: Int?, into buffer: inout ShmRecordEncoder
    ) -> Bool {
        buffer.rank = rank
        buffer.ts = ts
        buffer.micros = micros
        buffer.seq = seq
        switch body {
        case let .progress(p):
            buffer.head("{\"kind\":\"progress\",\"rank\":")
            buffer.key(",\"step\":")
            buffer.int(p.step)
            if let total = p.total {
                buffer.key(",\"total\":")
                buffer.int(total)
            }
            if let epoch = p.epoch {
                buffer.key(",\"epoch\":")
                buffer.number(epoch)
            }
            if !p.metrics.isEmpty {
                buffer.key(",\"metrics\":{")
                for (i, metric) in p.metrics.enumerated() {
                    if i > 0 { buffer.byte(UInt8(ascii: ",")) }
                    buffer.string(metric.name)
                    buffer.byte(UInt8(ascii: ":"))
                    buffer.number(metric.value)
                }
                buffer.byte(UInt8(ascii: "}"))
            }
        case let .barrierEnter(b):
            buffer.head("{\"kind\":\"barrier.enter\",\"rank\":")
            buffer.key(",\"n\":")
            buffer.int(b.n)
            buffer.optional(",\"name\":", b.name)
            buffer.optional(",\"site\":", b.site)
            buffer.optional(",\"phase\":", b.phase)
        case let .barrierExit(n):
            buffer.head("{\"kind\":\"barrier.exit\",\"rank\":")
            buffer.key(",\"n\":")
            buffer.int(n)
        case let .triggerCheck(n, fired):
            buffer.head("{\"kind\":\"trigger.check\",\"rank\":")
            buffer.key(",\"n\":")
            buffer.int(n)
            buffer.key(fired ? ",\"fired\":true" : ",\"fired\":false")
        case let .collectiveEnter(c):
            buffer.head("{\"kind\":\"collective.enter\",\"rank\":")
            buffer.key(",\"group\":")
            buffer.string(c.group)
            buffer.key(",\"n\":")
            buffer.int(c.n)
            buffer.key(",\"op\":")
            buffer.string(c.op)
            if let size = c.size {
                buffer.key(",\"size\":")
                buffer.int(size)
            }
            if let members = c.members {
                buffer.key(",\"members\":[")
                for (i, member) in members.enumerated() {
                    if i > 0 { buffer.byte(UInt8(ascii: ",")) }
                    buffer.int(member)
                }
                buffer.byte(UInt8(ascii: "]"))
            }
            if let bytes = c.bytes {
                buffer.key(",\"bytes\":")
                buffer.int(bytes)
            }
            buffer.optional(",\"dtype\":", c.dtype)
            buffer.optional(",\"site\":", c.site)
            buffer.optional(",\"label\":", c.label)
            if let isAsync = c.isAsync { buffer.key(isAsync ? ",\"async\":true" : ",\"async\":false") }
        case let .collectiveExit(c):
            buffer.head("{\"kind\":\"collective.exit\",\"rank\":")
            buffer.key(",\"group\":")
            buffer.string(c.group)
            buffer.key(",\"n\":")
            buffer.int(c.n)
            buffer.optional(",\"op\":", c.op)
        default:
            return false
        }
        buffer.byte(UInt8(ascii: "}"))
        return !buffer.overflowed
    }

    // MARK: pieces

    private mutating func head(_ prefix: StaticString) {
        key(prefix)
        int(rank)
        key(",\"ts\":")
        if let micros, micros >= 0 { timestamp(micros: UInt(micros)) } else { timestamp(ts) }
        if let seq {
            key(",\"seq\":")
            int(seq)
        }
    }

    @inline(__always)
    mutating func byte(_ value: UInt8) {
        guard count < capacity else {
            overflowed = true
            return
        }
        base[count] = value
        count += 1
    }

    mutating func key(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        guard count + length <= capacity else {
            overflowed = true
            return
        }
        (base + count).update(from: text.utf8Start, count: length)
        count += length
    }

    mutating func int(_ value: Int) {
        if value < 0 {
            byte(UInt8(ascii: "-"))
            // Int.min has no positive counterpart: its magnitude as an unsigned number.
            unsigned(value.magnitude)
        } else {
            unsigned(UInt(value))
        }
    }

    /// "00" to "99": two digits per division (the division by 100 is a multiplication).
    private static let pairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    private mutating func unsigned(_ value: UInt) {
        if value < 10 { return byte(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value)) }  // a rank, a small `n`
        let width = ShmRecordEncoder.digitCount(value)
        guard width <= 8, count &+ 8 <= capacity else { return digits(value, width: width) }
        // Eight digits with leading zeros, stored as one word; the zeros are shifted out.
        let word = ShmRecordEncoder.eightDigits(UInt64(value)) >> (8 * UInt64(8 - width))
        UnsafeMutableRawPointer(base + count).storeBytes(of: (word | ShmRecordEncoder.asciiZeros >> (8 * UInt64(8 - width))).littleEndian, as: UInt64.self)
        count &+= width
    }

    private static let asciiZeros: UInt64 = 0x3030_3030_3030_3030

    /// `value` (< 10^8) as eight decimal digits 0-9, one a byte, most significant in the lowest
    /// byte (the first in memory on a little-endian machine), by splitting into halves, quarters
    /// and eighths with a multiplication each, all lanes at once. A digit pair a division, as
    /// `digits` does, was a fifth of an emit in a profile.
    @inline(__always)
    static func eightDigits(_ value: UInt64) -> UInt64 {
        // Two 32-bit lanes of four digits each: the high half in the low lane.
        let halves = value / 10_000 | (value % 10_000) << 32
        // Four 16-bit lanes of two digits (x / 100 is (x * 10486) >> 20 for x < 10^4).
        let hundreds = ((halves &* 10486) >> 20) & 0x0000_007F_0000_007F
        let pairs = hundreds | (halves &- hundreds &* 100) << 16
        // Eight bytes of one digit (x / 10 is (x * 103) >> 10 for x < 100).
        let tens = ((pairs &* 103) >> 10) & 0x000F_000F_000F_000F
        return tens | (pairs &- tens &* 10) << 8
    }

    /// Decimal digits of `value`, by halving the range: at most five comparisons, each division a
    /// multiplication. The loop it replaces (one multiplication and overflow check a digit) was
    /// most of the digit formatting in a profile of the emit.
    @inline(__always)
    static func digitCount(_ value: UInt) -> Int {
        var count = 1
        var rest = value
        if rest >= 10_000_000_000_000_000 { count += 16; rest /= 10_000_000_000_000_000 }
        if rest >= 100_000_000 { count += 8; rest /= 100_000_000 }
        if rest >= 10_000 { count += 4; rest /= 10_000 }
        if rest >= 100 { count += 2; rest /= 100 }
        if rest >= 10 { count += 1 }
        return count
    }

    /// `value` in exactly `width` digits (leading zeros), written back to front.
    private mutating func digits(_ value: UInt, width: Int) {
        guard count + width <= capacity else {
            overflowed = true
            return
        }
        let pairs = ShmRecordEncoder.pairs.utf8Start
        var n = value
        var end = count + width
        while end - count >= 2 {
            let r = Int(n % 100)
            n /= 100
            end -= 2
            base[end] = pairs[2 * r]
            base[end + 1] = pairs[2 * r + 1]
        }
        if end > count { base[count] = UInt8(ascii: "0") + UInt8(n % 10) }
        count += width
    }

    /// Seconds with microseconds, trailing zeros dropped: the value `EventEncoder` writes.
    mutating func timestamp(_ ts: Double) {
        let micros = (ts * 1_000_000).rounded()
        guard micros.isFinite, abs(micros) < 9e15, ts >= 0 else { return number((ts * 1_000_000).rounded() / 1_000_000) }
        timestamp(micros: UInt(micros))
    }

    /// The same from whole microseconds.
    mutating func timestamp(micros whole: UInt) {
        let seconds = whole / 1_000_000
        let fraction = whole % 1_000_000
        // Seconds of this century (10 digits) and the fraction, each as one word of digits.
        if seconds >= 100_000_000, seconds < 10_000_000_000, count + 18 <= capacity {
            let high = seconds / 100_000_000
            base[count] = UInt8(ascii: "0") + UInt8(high / 10)
            base[count + 1] = UInt8(ascii: "0") + UInt8(high % 10)
            UnsafeMutableRawPointer(base + count + 2).storeBytes(
                of: (ShmRecordEncoder.eightDigits(UInt64(seconds % 100_000_000)) | ShmRecordEncoder.asciiZeros).littleEndian, as: UInt64.self
            )
            count += 10
            guard fraction > 0 else { return }
            // "00dddddd": the two leading zeros shifted out, then the trailing zeros dropped
            // (zero bytes at the top of the word).
            let digits = ShmRecordEncoder.eightDigits(UInt64(fraction)) >> 16
            let width = 8 - digits.leadingZeroBitCount / 8
            base[count] = UInt8(ascii: ".")
            UnsafeMutableRawPointer(base + count + 1).storeBytes(of: (digits | ShmRecordEncoder.asciiZeros >> 16).littleEndian, as: UInt64.self)
            count += 1 + width
            return
        }
        unsigned(seconds)
        var rest = fraction
        guard rest > 0 else { return }
        byte(UInt8(ascii: "."))
        var width = 6
        while rest % 10 == 0 {
            rest /= 10
            width -= 1
        }
        digits(rest, width: width)
    }

    /// As `EventEncoder`: integral values as integers, non-finite ones as Python's json writes them.
    mutating func number(_ value: Double) {
        if value.isNaN {
            key("NaN")
        } else if value.isInfinite {
            if value < 0 { key("-Infinity") } else { key("Infinity") }
        } else if value == value.rounded(), abs(value) < 1e15 {
            int(Int(value))
        } else {
            // Short enough to stay inline: a small String allocates nothing.
            for unit in value.description.utf8 { byte(unit) }
        }
    }

    mutating func optional(_ prefix: StaticString, _ value: String?) {
        guard let value else { return }
        key(prefix)
        string(value)
    }

    private static let hex: StaticString = "0123456789abcdef"

    mutating func string(_ value: String) {
        byte(UInt8(ascii: "\""))
        for unit in value.utf8 {
            switch unit {
            case UInt8(ascii: "\""): byte(0x5C); byte(0x22)
            case UInt8(ascii: "\\"): byte(0x5C); byte(0x5C)
            case 0x0A: byte(0x5C); byte(UInt8(ascii: "n"))
            case 0x0D: byte(0x5C); byte(UInt8(ascii: "r"))
            case 0x09: byte(0x5C); byte(UInt8(ascii: "t"))
            case 0..<0x20:
                key("\\u00")
                byte(ShmRecordEncoder.hex.utf8Start[Int(unit >> 4)])
                byte(ShmRecordEncoder.hex.utf8Start[Int(unit & 0xF)])
            default: byte(unit)
            }
        }
        byte(UInt8(ascii: "\""))
    }
}
