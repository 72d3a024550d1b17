/// The decoder's straight-line path for the lines that make up nearly every log: `progress`,
/// `trigger.check` and `heartbeat` exactly as the log writers emit them (fields in their fixed
/// order, no whitespace, no escapes, nothing unknown):
///
///     {"kind":"progress","rank":N,"ts":F,"seq":N,"step":N[,"total":N][,"epoch":F][,"metrics":{"name":F,...}]}
///     {"kind":"trigger.check","rank":N,"ts":F,"seq":N,"n":N,"fired":true|false}
///     {"kind":"heartbeat","rank":N,"ts":F,"seq":N}
///
/// Each expected piece is compared as one word, integers are plain digit runs, decimals go through
/// the general scanner's `scanNumber`. On any surprise (another order, whitespace, an escape, a
/// null, a value out of range, a byte after the object) it gives up and returns nil, and the
/// general scanner decides, so it accepts exactly what the general path accepts, with the same
/// event, and rejects nothing itself. A line it accepts is all ASCII (every byte is part of a
/// literal, a number or a checked name), so it needs no UTF-8 check.
struct CanonicalLine: ~Copyable {
    var scanner: JSONScanner

    /// The event, or nil: not the canonical shape (or not valid), for the general path.
    @inline(__always)
    static func decode(_ line: UnsafeBufferPointer<UInt8>, world: Int?) -> Event? {
        // 9 for `{"kind":"`, 16 for the kind's two words.
        guard line.count >= 25 else { return nil }
        var parser = CanonicalLine(scanner: JSONScanner(line))
        return parser.event(world: world)
    }

    private var raw: UnsafeRawPointer { UnsafeRawPointer(scanner.base) }

    /// The word at `pos` (the caller checked 8 bytes are readable).
    @inline(__always)
    private func word(at pos: Int) -> UInt64 {
        UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
    }

    /// Steps over the `count` (1...8) bytes of `expected` (little-endian) when they come next.
    @inline(__always)
    private mutating func literal(_ expected: UInt64, _ count: Int) -> Bool {
        let pos = scanner.pos
        guard pos + count <= scanner.end else { return false }
        let got: UInt64
        if pos + 8 <= scanner.end {
            got = lowBytes(word(at: pos), count)
        } else {
            var w: UInt64 = 0
            for i in 0..<count { w |= UInt64(scanner.base[pos + i]) << (UInt64(i) << 3) }
            got = w
        }
        guard got == expected else { return false }
        scanner.pos = pos + count
        return true
    }

    @inline(__always)
    private mutating func byte(_ expected: UInt8) -> Bool {
        guard scanner.pos < scanner.end, scanner.base[scanner.pos] == expected else { return false }
        scanner.pos += 1
        return true
    }

    /// A non-negative integer as plain digits (no sign, no leading zero, at most 15 digits: the
    /// range checks that follow are against 2^53), up to `max`.
    @inline(__always)
    private mutating func counter(max: Int) -> Int? {
        let start = scanner.pos
        var mantissa: UInt64 = 0
        scanner.scanDigits(into: &mantissa)
        let digits = scanner.pos - start
        guard digits > 0, digits <= 15, digits == 1 || scanner.base[start] != UInt8(ascii: "0") else { return nil }
        let value = Int(mantissa)
        return value <= max ? value : nil
    }

    /// Any JSON number the general scanner reads, as a Double.
    @inline(__always)
    private mutating func number() -> Double? {
        guard scanner.pos < scanner.end else { return nil }
        let c = scanner.base[scanner.pos]
        // Only a number's first bytes: a string, literal or container is the general path's.
        guard c == UInt8(ascii: "-") || c &- UInt8(ascii: "0") < 10 else { return nil }
        do throws(JSONSyntaxError) {
            switch try scanner.scanNumber() {
            case let .int(i): return Double(i)
            case let .double(d): return d
            }
        } catch {
            return nil
        }
    }

    private mutating func event(world: Int?) -> Event? {
        guard word(at: 0) == 0x3A22_646E_696B_227B, scanner.base[8] == UInt8(ascii: "\"") else { return nil } // {"kind":"
        let low = word(at: 9)
        let high = word(at: 17)
        let kind: EventKind
        if low == 0x7373_6572_676F_7270, high & 0xFF == 0x22 { // progress"
            kind = .progress
            scanner.pos = 18
        } else if low == 0x2E72_6567_6769_7274, high & 0xFFFF_FFFF_FFFF == 0x226B_6365_6863 { // trigger.check"
            kind = .triggerCheck
            scanner.pos = 23
        } else if low == 0x6165_6274_7261_6568, high & 0xFFFF == 0x2274 { // heartbeat"
            kind = .heartbeat
            scanner.pos = 19
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
            guard scanner.pos == scanner.end else { return nil }
            body = .triggerCheck(n: n, fired: fired)
        case .heartbeat:
            guard byte(UInt8(ascii: "}")), scanner.pos == scanner.end else { return nil }
            body = .heartbeat
        default:
            guard let progress = progress() else { return nil }
            body = .progress(progress)
        }
        return Event(rank: rank, ts: ts, seq: seq, body)
    }

    /// `,"step":N[,"total":N][,"epoch":F][,"metrics":{...}]}` to the end of the line.
    @inline(__always)
    private mutating func progress() -> Progress? {
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
            guard literal(0x7B3A_2273, 4), let members = self.metrics() else { return nil } // s":{
            metrics = members
        }
        guard byte(UInt8(ascii: "}")), scanner.pos == scanner.end else { return nil }
        return Progress(step: step, total: total, epoch: epoch, metrics: metrics)
    }

    /// The members of the metrics object after its `{`, through its `}`: plain ASCII names
    /// (nothing escaped), number values (a null is the general path's).
    private mutating func metrics() -> [Metric]? {
        if byte(UInt8(ascii: "}")) { return [] }
        var result: [Metric] = []
        result.reserveCapacity(4)
        while true {
            guard byte(UInt8(ascii: "\"")) else { return nil }
            let start = scanner.pos
            while true {
                // The metrics object is followed by at least `}}`: a name's closing quote is
                // found within readable words, or the line is the general path's.
                guard scanner.pos + 8 <= scanner.end else { return nil }
                let w = word(at: scanner.pos)
                let special = JSONScanner.specialBytes(w)
                if special != 0 {
                    let count = special.trailingZeroBitCount >> 3
                    guard lowBytes(w, count) & 0x8080_8080_8080_8080 == 0 else { return nil }
                    scanner.pos += count
                    break
                }
                guard w & 0x8080_8080_8080_8080 == 0 else { return nil }
                scanner.pos += 8
            }
            let count = scanner.pos - start
            guard byte(UInt8(ascii: "\"")), byte(UInt8(ascii: ":")), let value = number() else { return nil }
            let name = String(decoding: UnsafeBufferPointer(start: scanner.base + start, count: count), as: UTF8.self)
            result.append(Metric(name, value))
            if byte(UInt8(ascii: "}")) { return result }
            guard byte(UInt8(ascii: ",")) else { return nil }
        }
    }
}
