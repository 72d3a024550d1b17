/// Removes one top-level member from a JSON object line, keeping every other member's bytes as
/// they were.
///
/// The collector stores a rank's lines verbatim (fields this version does not know survive), but
/// a `hello` carries the run's token, which must never reach the log or the viewers that read it.
public enum FieldRedaction {
    /// `line` without its top-level member `name` (every occurrence), or nil when the line has no
    /// such member or is not a well-formed object. Keys written with escapes are matched too.
    public static func removing(_ name: String, from line: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        var kept: [Range<Int>] = []
        var removed = 0
        var scanner = JSONScanner(line)
        do throws(JSONSyntaxError) {
            scanner.skipWhitespace()
            try scanner.expect(UInt8(ascii: "{"), "'{'")
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "}") { return nil }
            while true {
                let memberStart = scanner.pos
                scanner.skipWhitespace()
                let keyStart = scanner.pos
                let raw = try scanner.scanStringRaw()
                let keyEnd = scanner.pos
                try scanner.expect(UInt8(ascii: ":"), "':'")
                scanner.skipWhitespace()
                try scanner.skipValue()
                scanner.skipWhitespace()
                guard !scanner.atEnd else { return nil }
                let separator = scanner.base[scanner.pos]
                if key(line, keyStart..<keyEnd, escaped: raw.escaped) == name {
                    removed += 1
                } else {
                    kept.append(memberStart..<scanner.pos)
                }
                scanner.pos += 1
                if separator == UInt8(ascii: "}") { break }
                guard separator == UInt8(ascii: ",") else { return nil }
            }
        } catch {
            return nil
        }
        guard removed > 0 else { return nil }
        var result: [UInt8] = [UInt8(ascii: "{")]
        result.reserveCapacity(line.count)
        for (i, member) in kept.enumerated() {
            if i > 0 { result.append(UInt8(ascii: ",")) }
            result.append(contentsOf: UnsafeBufferPointer(rebasing: line[member]))
        }
        result.append(UInt8(ascii: "}"))
        return result
    }

    private static func key(_ line: UnsafeBufferPointer<UInt8>, _ span: Range<Int>, escaped: Bool) -> String {
        if !escaped {
            return String(decoding: UnsafeBufferPointer(rebasing: line[(span.lowerBound + 1)..<(span.upperBound - 1)]), as: UTF8.self)
        }
        var scanner = JSONScanner(UnsafeBufferPointer(rebasing: line[span]))
        return (try? scanner.parseString()) ?? ""
    }
}
