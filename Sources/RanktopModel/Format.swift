#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RanktopProtocol

/// How ranktop writes durations, numbers, rank lists and times for people: the report, the
/// dashboard and the plain view all use this one type, so they never disagree.
public enum Format {
    /// `850ms`, `3.2s`, `14m32s`, `2h03m`, `3d04h`: the one way ranktop writes a duration, in the
    /// report, the dashboard and the plain view alike.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "-" }
        // A hostile log can claim any timestamp; beyond a thousand years nobody needs the digits.
        let s = min(max(0, seconds), maxSeconds)
        if s > 0, s < 0.0005 { return "<1ms" }
        if s < 0.9995 { return "\(Int((s * 1000).rounded()))ms" }
        if s < 9.95 { return fixed(s, decimals: 1) + "s" }
        if s < 10 { return "10s" }
        if s < 60 { return "\(Int(s))s" }
        let total = Int(s)
        if total < 3600 { return "\(total / 60)m\(twoDigits(total % 60))s" }
        if total < 86400 { return "\(total / 3600)h\(twoDigits(total % 3600 / 60))m" }
        return "\(total / 86400)d\(twoDigits(total % 86400 / 3600))h"
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `0-3, 5, 7-9`: sorted ranks folded into ranges.
    /// `node-2` before `node-10`: names compared with their digit runs as numbers (of any length:
    /// compared as digit strings, so nothing overflows).
    public static func naturallyBefore(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        var i = 0, j = 0
        while i < x.count, j < y.count {
            if isDigit(x[i]), isDigit(y[j]) {
                let si = i, sj = j
                while i < x.count, isDigit(x[i]) { i += 1 }
                while j < y.count, isDigit(y[j]) { j += 1 }
                let m = x[si..<i].drop { $0 == 48 }, n = y[sj..<j].drop { $0 == 48 }
                if m.count != n.count { return m.count < n.count }
                if !m.elementsEqual(n) { return m.lexicographicallyPrecedes(n) }
                continue
            }
            if x[i] != y[j] { return x[i] < y[j] }
            i += 1
            j += 1
        }
        return x.count - i < y.count - j
    }

    public static func ranks(_ ranks: [Int], limit: Int = .max) -> String {
        RankSet(ranks).text(limit: limit)
    }

    /// `rank 3` or `ranks 0-3, 7`.
    public static func ranksLabelled(_ ranks: RankSet, limit: Int = .max) -> String {
        (ranks.count == 1 ? "rank " : "ranks ") + ranks.text(limit: limit)
    }

    /// UTC wall-clock time, `2026-11-29 10:14:32Z`.
    public static func utc(_ ts: Double) -> String {
        // Years 0 to 9999; a hostile timestamp must not trap the conversion.
        var t = time_t(min(max(ts, -62_167_219_200), 253_402_300_799).rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday)) "
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }

    /// A string for display: quoted, control characters removed, cut to `max` characters.
    public static func quoted(_ text: String, max: Int = 60) -> String {
        "\"" + clean(text, max: max) + "\""
    }

    /// Text from a rank (an error with its traceback, a log message) on one screen line: each
    /// of its lines trimmed and joined with ` | `, other control characters as spaces. Cheap
    /// when there is nothing to do, as for almost every line.
    public static func oneLine(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return text }
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            .map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        return String(lines.joined(separator: " | ").unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
    }

    public static func clean(_ text: String, max: Int = 60) -> String {
        let flat = oneLine(text)
        return flat.count > max ? String(flat.prefix(max - 1)) + "…" : flat
    }
}

extension StringProtocol {
    /// Without the spaces, tabs and carriage returns at either end (a theme's lines, a typed
    /// reason, each line of a rank's traceback).
    public func trimmingWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
