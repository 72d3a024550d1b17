/// The decoder's straight-line path for the lines that make up nearly every log: `progress`,
/// `trigger.check` and `heartbeat` exactly as the log writers emit them (fields in their fixed
/// order, no whitespace, no escapes, nothing unknown):
///
///     {"kind":"progress","rank":N,"ts":F,"seq":N,"step":N[,"total":N][,"epoch":F][,"metrics":{"name":F,...}]}
///     {"kind":"trigger.check","rank":N,"ts":F,"seq":N,"n":N,"fired":true|false}
///     {"kind":"heartbeat","rank":N,"ts":F,"seq":N}
///
/// Each expected piece is compared as one word, integers and plain decimals are read a word of
/// digits at a time, and any other number goes through the general scanner's `scanNumber`. On
/// any surprise (another order, whitespace, an escape, a null, a value out of range, a byte
/// after the object) it gives up and returns nil, and the general scanner decides, so it accepts
/// exactly what the general path accepts, with the same event, and rejects nothing itself. A line
/// it accepts is all ASCII (every byte is part of a literal, a number or a checked name), so it
/// needs no UTF-8 check.
struct CanonicalLine {
    // Plain fields, the scanner made where a number needs it.
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos = 0

    /// The event, or nil: not the canonical shape (or not valid), for the general path.
    @inline(__always)
    static func decode(_ line: UnsafeBufferPointer<UInt8>, world: Int?, names: inout MetricNameCache) -> Event? {
        // 9 for `{"kind":"`, 16 for the kind's two words.
        guard line.count >= 25 else { return nil }
        var parser = CanonicalLine(base: line.baseAddress!, end: line.count)
        return parser.event(world: world, names: &names)
    }

    private var raw: UnsafeRawPointer { UnsafeRawPointer(base) }

    /// The word at `pos` (the caller checked 8 bytes are readable).
    @inline(__always)
    private func word(at pos: Int) -> UInt64 {
        UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
    }

    /// Steps over the `count` (1...8) bytes of `expected` (little-endian) when they come next.
    @inline(__always)
    private mutating func literal(_ expected: UInt64, _ count: Int) -> Bool {
        let at = pos
        guard at + count <= end else { return false }
        let got: UInt64
        if at + 8 <= end {
            got = lowBytes(word(at: at), count)
        } else {
            var w: UInt64 = 0
            for i in 0..<count { w |= UInt64(base[at + i]) << (UInt64(i) << 3) }
            got = w
        }
        guard got == expected else { return false }
        pos = at + count
        return true
    }

    @inline(__always)
    private mutating func byte(_ expected: UInt8) -> Bool {
        guard pos < end, base[pos] == expected else { return false }
        pos += 1
        return true
    }

    /// The 8 bytes at `at`, or as many as the line has (the missing top bytes zero, which no
    /// digit test takes for a digit): the last number of a line is read by words too, without
    /// reading past the line.
    @inline(__always)
    private func digitWord(at: Int) -> UInt64 {
        if at + 8 <= end { return word(at: at) }
        guard at < end else { return 0 }
        // `end >= 25` (see `decode`), so the line's last word is readable.
        return word(at: end - 8) >> (UInt64(at + 8 - end) << 3)
    }

    /// The value of the first `count` (1...7) digits of `word`.
    @inline(__always)
    private static func leadingValue(_ word: UInt64, _ count: Int) -> UInt64 {
        // The digits moved to the top bytes, '0's below them: the same value.
        let shift = UInt64(8 - count) << 3
        return JSONScanner.eightDigitsValue((word << shift) | (0x3030_3030_3030_3030 >> (64 - shift)))
    }

    /// A non-negative integer as plain digits (no sign, no leading zero, at most 15 digits: the
    /// range checks that follow are against 2^53), up to `max`.
    // `@_transparent`, here and on the decimals below: the optimizer did not honour
    // `@inline(__always)` for these (their 3 to 5 call sites stayed calls, a quarter of
    // `report`'s profile with `pos` going through memory at each).
    @_transparent
    private mutating func counter(max: Int) -> Int? {
        let start = pos
        let first = digitWord(at: start)
        let digits = JSONScanner.leadingDigits(first)
        // Nearly every rank, seq, step and count: one word, no loop.
        if digits < 8 {
            guard digits > 0, digits == 1 || base[start] != UInt8(ascii: "0") else { return nil }
            pos = start + digits
            let value = Int(CanonicalLine.leadingValue(first, digits))
            return value <= max ? value : nil
        }
        var mantissa: UInt64 = 0
        var scanner = JSONScanner(UnsafeBufferPointer(start: base, count: end))
        scanner.pos = pos
        scanner.scanDigits(into: &mantissa)
        pos = scanner.pos
        let count = pos - start
        guard count <= 15, base[start] != UInt8(ascii: "0") else { return nil }
        let value = Int(mantissa)
        return value <= max ? value : nil
    }

    /// Any JSON number the general scanner reads, as a Double.
    @_transparent
    private mutating func number() -> Double? {
        if let value = plainDecimal() { return value }
        return scannedNumber()
    }

    /// The writers' usual number, `D{1,15}[.D{1,7}]` with no sign and no exponent, read by words:
    /// exactly the value `scanNumber` gives it (an integer converted, or Clinger's fast path,
    /// one rounding of an exact mantissa below 2^53 by an exact power of ten). Nil, having moved
    /// nothing, for anything else.
    @_transparent
    private mutating func plainDecimal() -> Double? {
        let start = pos
        let first = digitWord(at: start)
        var intDigits = JSONScanner.leadingDigits(first)
        guard intDigits > 0 else { return nil }
        var mantissa: UInt64
        if intDigits < 8 {
            mantissa = CanonicalLine.leadingValue(first, intDigits)
        } else {
            let second = digitWord(at: start + 8)
            let more = JSONScanner.leadingDigits(second)
            guard more < 8 else { return nil }
            mantissa = JSONScanner.eightDigitsValue(first)
            if more > 0 { mantissa = mantissa &* JSONScanner.powerOfTenInteger(more) &+ CanonicalLine.leadingValue(second, more) }
            intDigits += more
        }
        guard intDigits == 1 || base[start] != UInt8(ascii: "0") else { return nil }
        var at = start + intDigits
        var fractionDigits = 0
        if at < end, base[at] == UInt8(ascii: ".") {
            let fraction = digitWord(at: at + 1)
            fractionDigits = JSONScanner.leadingDigits(fraction)
            // At most 19 digits in all, so that the mantissa cannot wrap before its 2^53 check.
            guard fractionDigits > 0, fractionDigits < 8, intDigits + fractionDigits <= 19 else { return nil }
            mantissa = mantissa &* JSONScanner.powerOfTenInteger(fractionDigits) &+ CanonicalLine.leadingValue(fraction, fractionDigits)
            at += 1 + fractionDigits
        }
        // An exponent, or more digits than the mantissa holds exactly: the general scanner's.
        guard mantissa < (1 << 53), at >= end || base[at] | 0x20 != UInt8(ascii: "e") else { return nil }
        pos = at
        // One division by an exact power of ten for every fraction length (a `switch` over
        // them had become a jump to one of seven divisions).
        let powersOfTen = SIMD8<Double>(1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7)
        return Double(mantissa) / powersOfTen[fractionDigits]
    }

    private mutating func scannedNumber() -> Double? {
        guard pos < end else { return nil }
        let c = base[pos]
        // Only a number's first bytes: a string, literal or container is the general path's.
        guard c == UInt8(ascii: "-") || c &- UInt8(ascii: "0") < 10 else { return nil }
        var scanner = JSONScanner(UnsafeBufferPointer(start: base, count: end))
        scanner.pos = pos
        defer { pos = scanner.pos }
        do throws(JSONSyntaxError) {
            switch try scanner.scanNumber() {
            case let .int(i): return Double(i)
            case let .double(d): return d
            }
        } catch {
            return nil
        }
    }

    private mutating func event(world: Int?, names: inout MetricNameCache) -> Event? {
        guard word(at: 0) == 0x3A22_646E_696B_227B, base[8] == UInt8(ascii: "\"") else { return nil } // {"kind":"
        let low = word(at: 9)
        let high = word(at: 17)
        let kind: EventKind
        if low == 0x7373_6572_676F_7270, high & 0xFF == 0x22 { // progress"
            kind = .progress
            pos = 18
        } else if low == 0x2E72_6567_6769_7274, high & 0xFFFF_FFFF_FFFF == 0x226B_6365_6863 { // trigger.check"
            kind = .triggerCheck
            pos = 23
        } else if low == 0x6165_6274_7261_6568, high & 0xFFFF == 0x2274 { // heartbeat"
            kind = .heartbeat
            pos = 19
        } else {
            return nil
        }
        guard literal(0x3A22_6B6E_6172_222C, 8), // ,"rank":
              let rank = counter(max: EventDecoder.maxWorld - 1), world.map({ rank < $0 }) ?? true,
              literal(0x3A22_7374_222C, 6), // ,"ts":
              let ts = number(), ts.isFinite, EventDecoder.timestampRange.contains(ts),
              literal(0x3A_2271_6573_222C, 7), // ,"seq":
              let seq = counter(max: EventDecoder.maxCounter)
        else { return nil }
        let body: EventBody
        switch kind {
        case .triggerCheck:
            guard literal(0x3A_226E_222C, 5), // ,"n":
                  let n = counter(max: EventDecoder.maxCounter),
                  literal(0x2264_6572_6966_222C, 8), byte(UInt8(ascii: ":")) // ,"fired":
            else { return nil }
            let fired: Bool
            if literal(0x7D_6575_7274, 5) { // true}
                fired = true
            } else if literal(0x7D65_736C_6166, 6) { // false}
                fired = false
            } else {
                return nil
            }
            guard pos == end else { return nil }
            body = .triggerCheck(n: n, fired: fired)
        case .heartbeat:
            guard byte(UInt8(ascii: "}")), pos == end else { return nil }
            body = .heartbeat
        default:
            guard let progress = progress(names: &names) else { return nil }
            body = .progress(progress)
        }
        return Event(rank: rank, ts: ts, seq: seq, body)
    }

    /// `,"step":N[,"total":N][,"epoch":F][,"metrics":{...}]}` to the end of the line.
    @inline(__always)
    private mutating func progress(names: inout MetricNameCache) -> Progress? {
        guard literal(0x3A22_7065_7473_222C, 8), let step = counter(max: EventDecoder.maxCounter) else { return nil } // ,"step":
        var total: Int?
        if literal(0x226C_6174_6F74_222C, 8) { // ,"total"
            guard byte(UInt8(ascii: ":")), let value = counter(max: EventDecoder.maxCounter) else { return nil }
            total = value
        }
        var epoch: Double?
        if literal(0x2268_636F_7065_222C, 8) { // ,"epoch"
            guard byte(UInt8(ascii: ":")), let value = number() else { return nil }
            epoch = value
        }
        var metrics: [Metric] = []
        if literal(0x6369_7274_656D_222C, 8) { // ,"metric
            guard literal(0x7B3A_2273, 4), let members = self.metrics(names: &names) else { return nil } // s":{
            metrics = members
        }
        guard byte(UInt8(ascii: "}")), pos == end else { return nil }
        return Progress(step: step, total: total, epoch: epoch, metrics: metrics)
    }

    /// The members of the metrics object after its `{`, through its `}`: plain ASCII names
    /// (nothing escaped), number values (a null is the general path's).
    private mutating func metrics(names: inout MetricNameCache) -> [Metric]? {
        if byte(UInt8(ascii: "}")) { return [] }
        var result = names.takeSpareMetrics()
        while true {
            guard byte(UInt8(ascii: "\"")), pos + 8 <= end else { return nil }
            let start = pos
            let first = word(at: start)
            while true {
                // The metrics object is followed by at least `}}`: a name's closing quote is
                // found within readable words, or the line is the general path's.
                guard pos + 8 <= end else { return nil }
                let w = word(at: pos)
                let special = JSONScanner.specialBytes(w)
                if special != 0 {
                    let count = special.trailingZeroBitCount >> 3
                    guard lowBytes(w, count) & 0x8080_8080_8080_8080 == 0 else { return nil }
                    pos += count
                    break
                }
                guard w & 0x8080_8080_8080_8080 == 0 else { return nil }
                pos += 8
            }
            let count = pos - start
            guard byte(UInt8(ascii: "\"")), byte(UInt8(ascii: ":")), let value = number() else { return nil }
            let name = count <= 8
                ? names.name(at: result.count, key: lowBytes(first, count), count: count) { makeName(start, count) }
                : makeName(start, count)
            result.append(Metric(name, value))
            if byte(UInt8(ascii: "}")) { return result }
            guard byte(UInt8(ascii: ",")) else { return nil }
        }
    }

    private func makeName(_ start: Int, _ count: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: count), as: UTF8.self)
    }
}

/// The metric names of the last canonical progress lines, by their place in the metrics object:
/// a log's progress lines name the same few metrics in the same order, so a name of up to 8
/// bytes is compared as one word and the String kept is reused, not built (and its UTF-8
/// checked) again. The same names either way: a String is its bytes.
struct MetricNameCache: Sendable {
    static let places = 4
    private var keys = SIMD4<UInt64>(repeating: 0)
    private var counts = SIMD4<Int>(repeating: -1)
    // Four properties rather than a tuple: reading one element of a tuple through a `switch`
    // copied the whole cache (all four strings retained and released) on every metric.
    private var name0 = ""
    private var name1 = ""
    private var name2 = ""
    private var name3 = ""

    /// The metrics array of an event already read, handed back by the reader once no one else
    /// holds it: its storage is reused for the next line's metrics instead of allocating (and
    /// freeing) one per progress event.
    private var spareMetrics: [Metric] = []

    init() {}

    /// An empty array, with the storage of the last one handed back when it is unshared.
    @inline(__always)
    mutating func takeSpareMetrics() -> [Metric] {
        var spare: [Metric] = []
        swap(&spare, &spareMetrics)
        if spare.capacity < 4 { spare.reserveCapacity(4) }
        // Unshared, this keeps the storage; shared (a reader kept the event), it allocates a
        // new one, as a fresh array would, and copies nothing.
        spare.removeAll(keepingCapacity: true)
        return spare
    }

    /// Keeps `metrics`' storage for the next line (see `spareMetrics`).
    @inline(__always)
    mutating func handBack(_ metrics: [Metric]) {
        if metrics.capacity >= 4 { spareMetrics = metrics }
    }

    /// The name whose bytes are `key` (`count` of them, at most 8) at `place` of the object.
    @inline(__always)
    mutating func name(at place: Int, key: UInt64, count: Int, make: () -> String) -> String {
        guard place < MetricNameCache.places else { return make() }
        if keys[place] == key, counts[place] == count {
            switch place {
            case 0: return name0
            case 1: return name1
            case 2: return name2
            default: return name3
            }
        }
        let name = make()
        keys[place] = key
        counts[place] = count
        switch place {
        case 0: name0 = name
        case 1: name1 = name
        case 2: name2 = name
        default: name3 = name
        }
        return name
    }
}
