/// The TOML that theme files use, read by hand: tables (`[styles]`, `[styles."state.running"]`),
/// `key = value` with bare, quoted and dotted keys, inline tables, arrays, strings (basic and
/// literal), integers, floats and booleans, comments. Multi-line strings, dates and arrays of
/// tables are refused with a clear message (no theme needs them).
///
/// Hand-written because TOMLKit, the library we used, imports Foundation's `Data` and `Date`,
/// which links full Foundation and its 34 MB of ICU data into a static binary: two thirds of the
/// wheel `pip install ranktop` downloads (issue 12). Errors carry the line they are on.
struct TOMLDocument {
    indirect enum Value: Equatable {
        case string(String)
        case integer(Int)
        case float(Double)
        case bool(Bool)
        case array([Value])
        case table(Table)

        var string: String? { if case let .string(s) = self { s } else { nil } }
        var int: Int? { if case let .integer(i) = self { i } else { nil } }
        var bool: Bool? { if case let .bool(b) = self { b } else { nil } }
        var table: Table? { if case let .table(t) = self { t } else { nil } }
    }

    /// Keys in the order the file gave them.
    struct Table: Equatable {
        private(set) var keys: [String] = []
        private var values: [String: Value] = [:]

        subscript(key: String) -> Value? {
            get { values[key] }
            set {
                if values[key] == nil, newValue != nil { keys.append(key) }
                if newValue == nil { keys.removeAll { $0 == key } }
                values[key] = newValue
            }
        }
    }

    struct ParseError: Error, Equatable, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { message }
    }

    let root: Table

    init(parsing text: String) throws(ParseError) {
        var parser = Parser(Array(text.utf8))
        root = try parser.document()
    }
}

private struct Parser {
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    /// Tables a `[header]` defined, which a second header must not define again.
    var definedTables: Set<[String]> = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    typealias Table = TOMLDocument.Table
    typealias Value = TOMLDocument.Value

    func fail(_ message: String) -> TOMLDocument.ParseError { TOMLDocument.ParseError(line: line, message: message) }

    var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    mutating func document() throws(TOMLDocument.ParseError) -> Table {
        var root = Table()
        var current: [String] = []
        while true {
            skipSpaces()
            guard let c = peek else { break }
            switch c {
            case UInt8(ascii: "#"): skipComment()
            case UInt8(ascii: "\n"): pos += 1; line += 1
            case UInt8(ascii: "\r"): pos += 1
            case UInt8(ascii: "["):
                pos += 1
                if peek == UInt8(ascii: "[") { throw fail("arrays of tables ([[...]]) are not supported in a theme") }
                skipSpaces()
                let path = try key()
                skipSpaces()
                guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                pos += 1
                guard definedTables.insert(path).inserted else { throw fail("table [\(path.joined(separator: "."))] is defined twice") }
                try Parser.insert(.table(Table()), at: path, into: &root, merging: true, parser: self)
                current = path
                try endOfLine()
            default:
                try keyValue(under: current, into: &root)
                try endOfLine()
            }
        }
        return root
    }

    /// `key = value`, put at `prefix` + key in `table`: a line of the document, or a member of an
    /// inline table.
    mutating func keyValue(under prefix: [String], into table: inout Table) throws(TOMLDocument.ParseError) {
        let path = try key()
        skipSpaces()
        guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after the key '\(path.joined(separator: "."))'") }
        pos += 1
        skipSpaces()
        let value = try self.value()
        try Parser.insert(value, at: prefix + path, into: &table, merging: false, parser: self)
    }

    /// Puts `value` at `path`, creating the tables on the way; a key given twice is an error.
    static func insert(_ value: Value, at path: [String], into table: inout Table, merging: Bool, parser: Parser) throws(TOMLDocument.ParseError) {
        let key = path[0]
        if path.count == 1 {
            if let existing = table[key] {
                if merging, existing.table != nil { return }
                throw parser.fail("'\(key)' is defined twice")
            }
            table[key] = value
            return
        }
        var child: Table
        switch table[key] {
        case nil: child = Table()
        case let .table(existing)?: child = existing
        default: throw parser.fail("'\(key)' is a value, not a table")
        }
        try insert(value, at: Array(path.dropFirst()), into: &child, merging: merging, parser: parser)
        table[key] = .table(child)
    }

    mutating func skipSpaces() {
        while let c = peek, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { pos += 1 }
    }

    mutating func skipComment() {
        while let c = peek, c != UInt8(ascii: "\n") { pos += 1 }
    }

    mutating func endOfLine() throws(TOMLDocument.ParseError) {
        skipSpaces()
        if peek == UInt8(ascii: "#") { skipComment() }
        if peek == UInt8(ascii: "\r") { pos += 1 }
        guard let c = peek else { return }
        guard c == UInt8(ascii: "\n") else { throw fail("unexpected '\(String(decoding: [c], as: UTF8.self))' after the value") }
    }

    /// `a.b."c.d"` -> ["a", "b", "c.d"].
    mutating func key() throws(TOMLDocument.ParseError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = peek else { throw fail("expected a key") }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                parts.append(try string())
            } else {
                let start = pos
                while let b = peek, Parser.isBareKey(b) { pos += 1 }
                guard pos > start else { throw fail("expected a key, found '\(String(decoding: [c], as: UTF8.self))'") }
                parts.append(String(decoding: bytes[start..<pos], as: UTF8.self))
            }
            skipSpaces()
            guard peek == UInt8(ascii: ".") else { return parts }
            pos += 1
        }
    }

    static func isBareKey(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    mutating func value() throws(TOMLDocument.ParseError) -> Value {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            return .string(try string())
        case UInt8(ascii: "{"):
            return .table(try inlineTable())
        case UInt8(ascii: "["):
            return .array(try array())
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            if literal("true") { return .bool(true) }
            if literal("false") { return .bool(false) }
            throw fail("expected a value (a string, a number, true, false, { ... } or [ ... ])")
        default:
            return try number()
        }
    }

    mutating func literal(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard pos + w.count <= bytes.count, Array(bytes[pos..<pos + w.count]) == w else { return false }
        if pos + w.count < bytes.count, Parser.isBareKey(bytes[pos + w.count]) { return false }
        pos += w.count
        return true
    }

    mutating func number() throws(TOMLDocument.ParseError) -> Value {
        let start = pos
        while let b = peek, Parser.isBareKey(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: ".") { pos += 1 }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self).filter { $0 != "_" }
        guard !text.isEmpty else {
            throw fail("expected a value (a string, a number, true, false, { ... } or [ ... ])")
        }
        if text.hasPrefix("0x"), let value = Int(text.dropFirst(2), radix: 16) { return .integer(value) }
        if let value = Int(text) { return .integer(value) }
        if text.contains("-"), text.first != "-" { throw fail("dates and times are not supported in a theme ('\(text)')") }
        if let value = Double(text), text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { return .float(value) }
        throw fail("'\(text)' is not a value (strings need quotes)")
    }

    mutating func string() throws(TOMLDocument.ParseError) -> String {
        let quote = bytes[pos]
        if pos + 2 < bytes.count, bytes[pos + 1] == quote, bytes[pos + 2] == quote {
            throw fail("multi-line strings are not supported in a theme")
        }
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek, c != UInt8(ascii: "\n") else { throw fail("unterminated string") }
            pos += 1
            if c == quote { break }
            if quote == UInt8(ascii: "\""), c == UInt8(ascii: "\\") {
                guard let e = peek else { throw fail("unterminated string") }
                pos += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let digits = e == UInt8(ascii: "u") ? 4 : 8
                    guard pos + digits <= bytes.count,
                          let code = UInt32(String(decoding: bytes[pos..<pos + digits], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape in a string") }
                    pos += digits
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    throw fail("invalid escape '\\\(String(decoding: [e], as: UTF8.self))' in a string")
                }
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func inlineTable() throws(TOMLDocument.ParseError) -> Table {
        pos += 1
        var table = Table()
        skipSpaces()
        if peek == UInt8(ascii: "}") { pos += 1; return table }
        while true {
            skipSpaces()
            try keyValue(under: [], into: &table)
            skipSpaces()
            switch peek {
            case UInt8(ascii: ",")?: pos += 1
            case UInt8(ascii: "}")?: pos += 1; return table
            default: throw fail("expected ',' or '}' in an inline table")
            }
        }
    }

    mutating func array() throws(TOMLDocument.ParseError) -> [Value] {
        pos += 1
        var items: [Value] = []
        while true {
            skipSpacesAndNewlines()
            if peek == UInt8(ascii: "]") { pos += 1; return items }
            items.append(try value())
            skipSpacesAndNewlines()
            switch peek {
            case UInt8(ascii: ",")?: pos += 1
            case UInt8(ascii: "]")?: pos += 1; return items
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    mutating func skipSpacesAndNewlines() {
        while let c = peek {
            if c == UInt8(ascii: "\n") { line += 1; pos += 1 } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r") { pos += 1 } else if c == UInt8(ascii: "#") { skipComment() } else { break }
        }
    }
}
