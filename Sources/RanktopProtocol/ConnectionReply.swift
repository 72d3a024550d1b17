/// The collector's answer to a `ConnectionRequest`, one line.
public struct ConnectionReply: Sendable, Equatable {
    /// `viewer.ok`, `inject.ok`, `stack.ok` or `error`.
    public var kind: String
    public var v: Int?
    /// The run and its log (`viewer.ok`).
    public var run: String?
    public var log: String?
    /// The injection or stack request id (`inject.ok`, `stack.ok`).
    public var id: String?
    /// How many ranks the injection was handed to (`inject.ok`); the rank asked (`stack.ok`).
    public var ranks: Int?
    public var rank: Int?
    /// What went wrong (`error`), and a stable code (docs/protocol.md lists them).
    public var error: String?
    public var code: String?

    public init(
        kind: String, v: Int? = nil, run: String? = nil, log: String? = nil, id: String? = nil,
        ranks: Int? = nil, rank: Int? = nil, error: String? = nil, code: String? = nil
    ) {
        self.kind = kind
        self.v = v
        self.run = run
        self.log = log
        self.id = id
        self.ranks = ranks
        self.rank = rank
        self.error = error
        self.code = code
    }

    public static func failure(_ message: String, code: String) -> ConnectionReply {
        ConnectionReply(kind: "error", error: message, code: code)
    }

    public var line: String {
        var members: [(String, JSONValue)] = [("kind", .string(kind))]
        func add(_ key: String, _ value: JSONValue?) { if let value { members.append((key, value)) } }
        add("v", v.map(JSONValue.int))
        add("run", run.map(JSONValue.string))
        add("log", log.map(JSONValue.string))
        add("id", id.map(JSONValue.string))
        add("ranks", ranks.map(JSONValue.int))
        add("rank", rank.map(JSONValue.int))
        add("error", error.map(JSONValue.string))
        add("code", code.map(JSONValue.string))
        return JSONValue.object(members).serialized + "\n"
    }

    public static func parse(_ line: [UInt8]) -> ConnectionReply? {
        guard let value = line.withUnsafeBufferPointer({ JSONValue.parse($0) }), case let .string(kind)? = value["kind"] else {
            return nil
        }
        return ConnectionReply(
            kind: kind, v: value["v"]?.intValue, run: value["run"]?.stringValue, log: value["log"]?.stringValue,
            id: value["id"]?.stringValue, ranks: value["ranks"]?.intValue, rank: value["rank"]?.intValue,
            error: value["error"]?.stringValue, code: value["code"]?.stringValue
        )
    }
}

enum WireJSON {
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard haystack.count >= n else { return false }
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: n)
        for start in 0...(haystack.count - n) where haystack[start] == pattern[0] {
            if (0..<n).allSatisfy({ haystack[start + $0] == pattern[$0] }) { return true }
        }
        return false
    }
}
