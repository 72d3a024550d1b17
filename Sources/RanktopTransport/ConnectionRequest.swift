#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The first line of a connection that is not a rank's (a ranktop extension of protocol v1, see
/// docs/protocol.md): a viewer that follows the run, or a one-shot control request.
public enum ConnectionRequest: Sendable, Equatable {
    /// `{"kind":"viewer","v":1,"token":...}`: the whole log so far, then live events.
    case viewer(token: String?)
    /// `{"kind":"inject.req","reason":...,"by":"user@host","token":...}`: stop the run at its next check.
    case inject(reason: String?, by: String?, token: String?)
    /// `{"kind":"stack.req","rank":N,"token":...}`: ask one rank for its training thread's stack.
    case stack(rank: Int, token: String?)

    public var token: String? {
        switch self {
        case let .viewer(token), let .inject(_, _, token), let .stack(_, token): token
        }
    }

    private struct Wire: Codable {
        var kind: String
        var v: Int?
        var token: String?
        var reason: String?
        var by: String?
        var rank: Int?
    }

    /// The line to send, newline included.
    public var line: String {
        let wire: Wire = switch self {
        case let .viewer(token): Wire(kind: "viewer", v: 1, token: token)
        case let .inject(reason, by, token): Wire(kind: "inject.req", token: token, reason: reason, by: by)
        case let .stack(rank, token): Wire(kind: "stack.req", token: token, rank: rank)
        }
        return WireJSON.line(wire)
    }

    /// The request in `line`, or nil when the line is not one (a rank's `hello`, garbage).
    public static func parse(_ line: UnsafeBufferPointer<UInt8>) -> ConnectionRequest? {
        // A rank's lines never get here after its hello; this cheap test keeps garbage from a
        // misdirected client off the JSON decoder.
        guard line.count < 4096, WireJSON.contains(line, "\"kind\"") else { return nil }
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(line)) else { return nil }
        switch wire.kind {
        case "viewer": return .viewer(token: wire.token)
        case "inject.req": return .inject(reason: wire.reason, by: wire.by, token: wire.token)
        case "stack.req":
            guard let rank = wire.rank else { return nil }
            return .stack(rank: rank, token: wire.token)
        default: return nil
        }
    }
}

/// The collector's answer to a `ConnectionRequest`, one line.
public struct ConnectionReply: Sendable, Equatable, Codable {
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
    /// What went wrong (`error`), and a stable code: `token`, `no-rank`, `stopping`.
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

    public var line: String { WireJSON.line(self) }

    public static func parse(_ line: [UInt8]) -> ConnectionReply? {
        try? JSONDecoder().decode(ConnectionReply.self, from: Data(line))
    }
}

enum WireJSON {
    static func line<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

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
