extension JSONValue {
    /// Compact JSON text of this value. Keys keep their order; non-finite numbers become `null`
    /// here, since this is output for other tools (jq, scripts), not the event protocol.
    public var serialized: String {
        var w = JSONWriter()
        write(into: &w)
        return String(decoding: w.out, as: UTF8.self)
    }

    private func write(into w: inout JSONWriter) {
        switch self {
        case let .string(s): w.string(s)
        case let .int(i): w.out.append(contentsOf: String(i).utf8)
        case let .double(d):
            if d.isFinite { w.number(d) } else { w.out.append(contentsOf: "null".utf8) }
        case let .bool(b): w.out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: w.out.append(contentsOf: "null".utf8)
        case let .array(items):
            w.out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { w.out.append(UInt8(ascii: ",")) }
                item.write(into: &w)
            }
            w.out.append(UInt8(ascii: "]"))
        case let .ranks(set):
            w.out.append(UInt8(ascii: "["))
            var first = true
            for range in set.ranges {
                for rank in range {
                    if !first { w.out.append(UInt8(ascii: ",")) }
                    first = false
                    w.out.append(contentsOf: String(rank).utf8)
                }
            }
            w.out.append(UInt8(ascii: "]"))
        case let .object(members):
            w.out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { w.out.append(UInt8(ascii: ",")) }
                w.string(key)
                w.out.append(UInt8(ascii: ":"))
                value.write(into: &w)
            }
            w.out.append(UInt8(ascii: "}"))
        }
    }

    /// Parses one JSON document (for tests and tools; events have their own fast decoder).
    public static func parse(_ text: String) -> JSONValue? {
        var copy = text
        return copy.withUTF8 { parse($0) }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        var scanner = JSONScanner(bytes)
        scanner.skipWhitespace()
        guard let value = try? scanner.parseValue() else { return nil }
        scanner.skipWhitespace()
        return scanner.atEnd ? value : nil
    }

    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public subscript(index: Int) -> JSONValue? {
        if case let .ranks(set) = self { return set.indices.contains(index) ? .int(set[index]) : nil }
        guard case let .array(items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    public var arrayValue: [JSONValue]? {
        if case let .array(items) = self { return items }
        if case let .ranks(set) = self { return set.map(JSONValue.int) }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case let .int(i): i
        case let .double(d) where d.rounded() == d && abs(d) < 9e15: Int(d)
        default: nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case let .int(i): Double(i)
        case let .double(d): d
        default: nil
        }
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }
}
