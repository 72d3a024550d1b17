import ArgumentParser

/// A moment in a run as a user names it on the command line (`report --at`, `replay --start`):
/// an absolute timestamp (`1733000000.5`), an ISO 8601 time (`2026-11-29T10:14:32Z`; without a
/// zone it is UTC, as `report` prints times), or an offset from the start of the log (`+5m`,
/// `+1h30m`, `+90s`) or back from its end (`-30s`).
enum TimePoint: Equatable, ExpressibleByArgument {
    case absolute(Double)
    case fromStart(Double)
    case fromEnd(Double)

    static let help = "TIME: seconds since the epoch, an ISO time (2026-11-29T10:14:32Z; UTC without a zone), +5m from the start of the log, or -30s from its end"

    init?(argument: String) {
        guard let point = TimePoint.parse(argument) else { return nil }
        self = point
    }

    /// The timestamp meant, for a log from `start` to `end`.
    func resolve(start: Double?, end: Double?) -> Double? {
        switch self {
        case let .absolute(ts): ts
        case let .fromStart(seconds): start.map { $0 + seconds }
        case let .fromEnd(seconds): end.map { $0 - seconds }
        }
    }

    var needsEnd: Bool { if case .fromEnd = self { true } else { false } }

    static func parse(_ text: String) -> TimePoint? {
        let text = String(String(text.drop(while: \.isWhitespace).reversed()).drop(while: \.isWhitespace).reversed())
        guard let first = text.first else { return nil }
        if first == "+" || first == "-" {
            guard let seconds = duration(String(text.dropFirst())) else { return nil }
            return first == "+" ? .fromStart(seconds) : .fromEnd(seconds)
        }
        if let ts = Double(text), ts.isFinite, ts >= 0 { return .absolute(ts) }
        return iso(text).map { .absolute($0) }
    }

    /// `5m`, `1h30m`, `90s`, `2.5s`, `1d2h`, or plain seconds.
    static func duration(_ text: String) -> Double? {
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return seconds }
        var total = 0.0, number = "", sawUnit = false
        for ch in text {
            if ch.isNumber || ch == "." {
                number.append(ch)
                continue
            }
            let unit: Double
            switch ch {
            case "d": unit = 86_400
            case "h": unit = 3600
            case "m": unit = 60
            case "s": unit = 1
            default: return nil
            }
            guard let value = Double(number), value.isFinite else { return nil }
            total += value * unit
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty else { return nil }
        return total
    }

    /// `YYYY-MM-DD[T| ]HH:MM[:SS[.fff]][Z|+HH:MM|-HH:MM]`, as seconds since the epoch.
    static func iso(_ text: String) -> Double? {
        let chars = Array(text.utf8)
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= chars.count else { return nil }
            var value = 0
            for _ in 0..<count {
                let c = chars[i]
                guard c >= 0x30, c <= 0x39 else { return nil }
                value = value * 10 + Int(c - 0x30)
                i += 1
            }
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard i < chars.count, chars[i] == byte else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
              (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400
        if i < chars.count {
            guard chars[i] == 0x54 || chars[i] == 0x20 || chars[i] == 0x74 else { return nil }
            i += 1
            guard let hour = digits(2), expect(0x3A), let minute = digits(2), hour < 24, minute < 60 else { return nil }
            seconds += Double(hour * 3600 + minute * 60)
            if expect(0x3A) {
                guard let second = digits(2), second < 61 else { return nil }
                seconds += Double(second)
                if expect(0x2E) || expect(0x2C) {
                    var scale = 0.1
                    var any = false
                    while i < chars.count, chars[i] >= 0x30, chars[i] <= 0x39 {
                        seconds += Double(chars[i] - 0x30) * scale
                        scale /= 10
                        i += 1
                        any = true
                    }
                    guard any else { return nil }
                }
            }
            if expect(0x5A) || expect(0x7A) {
            } else if i < chars.count, chars[i] == 0x2B || chars[i] == 0x2D {
                let sign: Double = chars[i] == 0x2B ? 1 : -1
                i += 1
                guard let hours = digits(2) else { return nil }
                _ = expect(0x3A)
                guard let minutes = digits(2) else { return nil }
                seconds -= sign * Double(hours * 3600 + minutes * 60)
            }
        }
        return i == chars.count ? seconds : nil
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
