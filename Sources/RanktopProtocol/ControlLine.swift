/// A line the collector sends to a rank on the rank's own connection.
public enum ControlLine: Sendable, Equatable {
    /// Raise the trigger flag at the start of the next `check_trigger`. The same id twice acts once.
    case inject(id: String, reason: String?)
    /// Answer with a `stack` event of the training thread.
    case stackRequest(id: String)

    public var line: String {
        var w = JSONWriter()
        w.open()
        switch self {
        case let .inject(id, reason):
            w.field("kind", "inject")
            w.field("id", id)
            if let reason { w.field("reason", reason) }
        case let .stackRequest(id):
            w.field("kind", "stack.req")
            w.field("id", id)
        }
        w.close()
        w.out.append(0x0A)
        return String(decoding: w.out, as: UTF8.self)
    }

    /// Parses a control line; nil for anything else (a rank ignores what it does not know).
    public static func parse(_ line: String) -> ControlLine? {
        var copy = line
        return copy.withUTF8 { bytes -> ControlLine? in
            var scanner = JSONScanner(bytes)
            guard case let .object(members)? = try? scanner.parseValue() else { return nil }
            var kind: String?
            var id: String?
            var reason: String?
            for (key, value) in members {
                guard case let .string(text) = value else { continue }
                switch key {
                case "kind": kind = text
                case "id": id = text
                case "reason": reason = text
                default: break
                }
            }
            guard let id else { return nil }
            switch kind {
            case "inject": return .inject(id: id, reason: reason)
            case "stack.req": return .stackRequest(id: id)
            default: return nil
            }
        }
    }
}
