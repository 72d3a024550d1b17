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

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Writes the record for `event`; false when this encoder does not handle its kind (or the
    /// buffer is too small): use `EventEncoder`.
    static func encode(_ event: Event, into buffer: inout ShmRecordEncoder) -> Bool {
        switch event.body {
        case let .progress(p):
            buffer.head("{\"kind\":\"progress\",\"rank\":", event)
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
            buffer.head("{\"kind\":\"barrier.enter\",\"rank\":", event)
            buffer.key(",\"n\":")
            buffer.int(b.n)
            buffer.optional(",\"name\":", b.name)
            buffer.optional(",\"site\":", b.site)
            buffer.optional(",\"phase\":", b.phase)
        case let .barrierExit(n):
            buffer.head("{\"kind\":\"barrier.exit\",\"rank\":", event)
            buffer.key(",\"n\":")
            buffer.int(n)
        case let .triggerCheck(n, fired):
            buffer.head("{\"kind\":\"trigger.check\",\"rank\":", event)
            buffer.key(",\"n\":")
            buffer.int(n)
            buffer.key(fired ? ",\"fired\":true" : ",\"fired\":false")
        case let .collectiveEnter(c):
            buffer.head("{\"kind\":\"collective.enter\",\"rank\":", event)
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
            buffer.head("{\"kind\":\"collective.exit\",\"rank\":", event)
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

    private mutating func head(_ prefix: StaticString, _ event: Event) {
        key(prefix)
        int(event.rank)
        key(",\"ts\":")
        timestamp(event.ts)
        if let seq = event.seq {
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
        var length = 1
        var threshold: UInt = 10
        while value >= threshold, length < 20 {
            length += 1
            let (next, overflow) = threshold.multipliedReportingOverflow(by: 10)
            if overflow { break }
            threshold = next
        }
        digits(value, width: length)
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
        let whole = UInt(micros)
        unsigned(whole / 1_000_000)
        var fraction = whole % 1_000_000
        guard fraction > 0 else { return }
        byte(UInt8(ascii: "."))
        var width = 6
        while fraction % 10 == 0 {
            fraction /= 10
            width -= 1
        }
        digits(fraction, width: width)
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
