/// The first line of a connection that is not a rank's (a ranktop extension of protocol v1, see
/// docs/protocol.md): a viewer that follows the run, or a one-shot control request.
public enum ConnectionRequest: Sendable, Equatable {
    /// `{"kind":"viewer","v":1,"token":...}`: the whole log so far, then live events. With
    /// `"from":"end"` (`fromEnd`), only the events logged after the reply: what a client that
    /// waits for answers (`ranktop stack`) needs, without reading a week of history first.
    case viewer(token: String?, fromEnd: Bool = false)
    /// `{"kind":"inject.req","reason":...,"by":"user@host","run":...,"ttl":S,"token":...}`: stop the
    /// run at its next check. `run` names the run (default: the newest connected one); the
    /// injection is withdrawn when no rank of it took it within `ttl` seconds.
    case inject(reason: String?, by: String?, token: String?, run: String? = nil, ttl: Double? = nil)
    /// `{"kind":"inject.cancel","id":...,"token":...}`: withdraw an injection no rank applied yet.
    case cancelInjection(id: String, token: String?)
    /// `{"kind":"stack.req","rank":N,"token":...}`: ask one rank for its training thread's stack.
    case stack(rank: Int, token: String?)
    /// A line of one of the kinds above with fields of the wrong type: answered with an error,
    /// never left hanging.
    case malformed(kind: String, reason: String)

    public var token: String? {
        switch self {
        case let .viewer(token, _), let .inject(_, _, token, _, _), let .cancelInjection(_, token), let .stack(_, token): token
        case .malformed: nil
        }
    }

    /// The kinds a first line may have to be a request rather than a rank's `hello`.
    static let kinds: Set<String> = ["viewer", "inject.req", "inject.cancel", "stack.req"]

    /// The line to send, newline included.
    public var line: String {
        var members: [(String, JSONValue)] = []
        func add(_ key: String, _ value: String?) { if let value { members.append((key, .string(value))) } }
        switch self {
        case let .viewer(token, fromEnd):
            members = [("kind", .string("viewer")), ("v", .int(1))]
            if fromEnd { add("from", "end") }
            add("token", token)
        case let .inject(reason, by, token, run, ttl):
            members = [("kind", .string("inject.req"))]
            add("reason", reason)
            add("by", by)
            add("run", run)
            if let ttl { members.append(("ttl", .double(ttl))) }
            add("token", token)
        case let .cancelInjection(id, token):
            members = [("kind", .string("inject.cancel")), ("id", .string(id))]
            add("token", token)
        case let .stack(rank, token):
            members = [("kind", .string("stack.req")), ("rank", .int(rank))]
            add("token", token)
        case let .malformed(kind, _):
            members = [("kind", .string(kind))]
        }
        return JSONValue.object(members).serialized + "\n"
    }

    /// The request in `line`, or nil when the line is not one (a rank's `hello`, garbage).
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) -> ConnectionRequest? {
        // A rank's lines never get here after its hello; this cheap test keeps garbage from a
        // misdirected client off the JSON parser.
        guard line.count < 4096, WireJSON.contains(line, "\"kind\"") else { return nil }
        guard case let .object(members)? = JSONValue.parse(line) else { return nil }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members where fields[key] == nil { fields[key] = value }
        guard case let .string(kind)? = fields["kind"], kinds.contains(kind) else { return nil }
        do throws(RequestFieldError) {
            let token = try optionalString(fields, "token")
            switch kind {
            case "viewer":
                switch try optionalString(fields, "from") {
                case nil, "start"?: return .viewer(token: token)
                case "end"?: return .viewer(token: token, fromEnd: true)
                case let other?: throw RequestFieldError("field 'from': expected \"start\" or \"end\", not \"\(other)\"")
                }
            case "inject.req":
                let ttl = try optionalNumber(fields, "ttl")
                if let ttl, !(ttl > 0 && ttl.isFinite) { throw RequestFieldError("field 'ttl': expected a positive number of seconds") }
                return .inject(
                    reason: try optionalString(fields, "reason"), by: try optionalString(fields, "by"), token: token,
                    run: try optionalString(fields, "run"), ttl: ttl
                )
            case "inject.cancel":
                guard let id = try optionalString(fields, "id") else { throw RequestFieldError("missing field 'id'") }
                return .cancelInjection(id: id, token: token)
            default:
                guard case let .int(rank)? = fields["rank"] else {
                    throw RequestFieldError("field 'rank': expected an integer rank")
                }
                guard rank >= 0 else { throw RequestFieldError("field 'rank': \(rank) is below 0") }
                return .stack(rank: rank, token: token)
            }
        } catch {
            return .malformed(kind: kind, reason: error.message)
        }
    }

    private struct RequestFieldError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    private static func optionalString(_ fields: [String: JSONValue], _ key: String) throws(RequestFieldError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case let .string(value)?: return value
        default: throw RequestFieldError("field '\(key)': expected a string")
        }
    }

    private static func optionalNumber(_ fields: [String: JSONValue], _ key: String) throws(RequestFieldError) -> Double? {
        switch fields[key] {
        case nil, .null?: return nil
        case let .int(value)?: return Double(value)
        case let .double(value)?: return value
        default: throw RequestFieldError("field '\(key)': expected a number")
        }
    }
}
