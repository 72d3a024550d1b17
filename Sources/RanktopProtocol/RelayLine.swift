/// What a relay (`ranktop relay`) and the head collector say besides the ranks' own records
/// (docs/protocol.md, "Relays"): one connection carries every rank of a node, as streams.
public enum RelayLine: Sendable, Equatable {
    /// `{"kind":"relay","v":1,"node":...,"token":...}`: the connection's first line.
    case hello(node: String, token: String?)
    /// `{"kind":"relay.stream","id":N}`: the lines that follow are stream N's (one rank process).
    case stream(id: Int)
    /// `{"kind":"relay.end","id":N,"lost":...}`: stream N's process ended; `lost` says why when it
    /// is gone without `bye`.
    case end(id: Int, lost: String?)
    /// `{"kind":"relay.heartbeat"}`: the relay is alive, with nothing to forward.
    case heartbeat

    public var line: String {
        var members: [(String, JSONValue)]
        switch self {
        case let .hello(node, token):
            members = [("kind", .string("relay")), ("v", .int(1)), ("node", .string(node))]
            if let token { members.append(("token", .string(token))) }
        case let .stream(id):
            members = [("kind", .string("relay.stream")), ("id", .int(id))]
        case let .end(id, lost):
            members = [("kind", .string("relay.end")), ("id", .int(id))]
            if let lost { members.append(("lost", .string(lost))) }
        case .heartbeat:
            members = [("kind", .string("relay.heartbeat"))]
        }
        return JSONValue.object(members).serialized + "\n"
    }

    private static let prefix: [UInt8] = Array("{\"kind\":\"relay".utf8)

    /// Whether the line is a relay line (ranktop's writers start every object with `kind`;
    /// the relay writes these itself).
    public static func isRelayLine(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.count >= prefix.count && zip(line, prefix).allSatisfy { $0 == $1 }
    }

    public static func parse(_ line: UnsafeBufferPointer<UInt8>) -> RelayLine? {
        guard isRelayLine(line), line.count < 4096, case let .object(members)? = JSONValue.parse(line) else { return nil }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members where fields[key] == nil { fields[key] = value }
        guard case let .string(kind)? = fields["kind"] else { return nil }
        func string(_ key: String) -> String? { if case let .string(text)? = fields[key] { return text }; return nil }
        func int(_ key: String) -> Int? { if case let .int(value)? = fields[key], value >= 0 { return value }; return nil }
        switch kind {
        case "relay": return string("node").map { .hello(node: $0, token: string("token")) }
        case "relay.stream": return int("id").map { .stream(id: $0) }
        case "relay.end": return int("id").map { .end(id: $0, lost: string("lost")) }
        case "relay.heartbeat": return .heartbeat
        default: return nil
        }
    }

    /// A control line for stream `id` (head to relay): the control line with `"stream":id` first.
    public static func control(_ control: ControlLine, stream id: Int) -> String {
        "{\"stream\":\(id)," + control.line.dropFirst()
    }

    /// The stream and control line of a line the head sent a relay.
    public static func parseControl(_ line: String) -> (stream: Int, control: ControlLine)? {
        var copy = line
        return copy.withUTF8 { bytes -> (Int, ControlLine)? in
            guard case let .object(members)? = JSONValue.parse(bytes),
                  case let .int(id)? = members.first(where: { $0.0 == "stream" })?.1,
                  let control = ControlLine.parse(line) else { return nil }
            return (id, control)
        }
    }
}
