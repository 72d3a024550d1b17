/// Why a line was not accepted as an event. The message names the field and the problem, in the
/// words a report shows.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Decodes protocol-v1 JSON Lines into typed events, validating types and ranges.
///
/// It remembers the world size from the first `hello` it sees so that later ranks can be range
/// checked; one decoder reads one stream.
public struct EventDecoder: Sendable {
    /// Longest accepted line, without its newline.
    public static let maxLineBytes = 65_536

    /// The world size, once a `hello` has announced it.
    public var world: Int?
    private var slots: [JSONValue?] = Array(repeating: nil, count: EventKey.allCases.count)

    public init(world: Int? = nil) {
        self.world = world
    }

    public mutating func decode(_ line: String) -> Result<Event, DecodeError> {
        var copy = line
        return copy.withUTF8 { decode($0) }
    }

    public mutating func decode(_ line: [UInt8]) -> Result<Event, DecodeError> {
        line.withUnsafeBufferPointer { decode($0) }
    }

    /// Decodes one line (without its newline).
    public mutating func decode(_ line: UnsafeBufferPointer<UInt8>) -> Result<Event, DecodeError> {
        if line.count > EventDecoder.maxLineBytes {
            return .failure(DecodeError("line longer than \(EventDecoder.maxLineBytes) bytes"))
        }
        guard UTF8Validation.isValid(line) else { return .failure(DecodeError("invalid UTF-8")) }
        do throws(DecodeError) {
            try scanFields(line)
            let event = try buildEvent()
            if case let .hello(hello) = event.body, world == nil { world = hello.world }
            return .success(event)
        } catch {
            return .failure(error)
        }
    }

    private mutating func scanFields(_ line: UnsafeBufferPointer<UInt8>) throws(DecodeError) {
        for i in slots.indices { slots[i] = nil }
        var scanner = JSONScanner(line)
        do {
            scanner.skipWhitespace()
            guard !scanner.atEnd else { throw DecodeError("empty line") }
            guard scanner.peek == UInt8(ascii: "{") else { throw DecodeError("not a JSON object") }
            scanner.pos += 1
            scanner.skipWhitespace()
            if scanner.peek == UInt8(ascii: "}") {
                scanner.pos += 1
            } else {
                while true {
                    scanner.skipWhitespace()
                    let key = try scanner.scanStringRaw()
                    try scanner.expect(UInt8(ascii: ":"), "':'")
                    scanner.skipWhitespace()
                    let known = key.escaped ? nil : EventKey.match(scanner.base + key.start, count: key.count)
                    if let known {
                        if known == .kind, scanner.peek == UInt8(ascii: "\"") {
                            slots[known.rawValue] = try kindValue(&scanner)
                        } else {
                            slots[known.rawValue] = try scanner.parseValue()
                        }
                    } else {
                        try scanner.skipValue()
                    }
                    scanner.skipWhitespace()
                    guard !scanner.atEnd else { throw scanner.fail("unterminated object") }
                    let c = scanner.base[scanner.pos]
                    scanner.pos += 1
                    if c == UInt8(ascii: "}") { break }
                    guard c == UInt8(ascii: ",") else { throw scanner.fail("expected ',' or '}'") }
                }
            }
            scanner.skipWhitespace()
            guard scanner.atEnd else { throw scanner.fail("trailing characters after the object") }
        } catch let error as JSONSyntaxError {
            throw DecodeError("invalid JSON: \(error.message) at byte \(error.offset + 1)")
        } catch let error as DecodeError {
            throw error
        } catch {
            throw DecodeError("invalid JSON")
        }
    }

    /// Known kinds are kept as their enum's raw value, which avoids a String allocation.
    private func kindValue(_ scanner: inout JSONScanner) throws(JSONSyntaxError) -> JSONValue {
        let raw = try scanner.scanStringRaw()
        if !raw.escaped, let kind = EventKind.match(scanner.base + raw.start, count: raw.count) {
            return .int(-1 - kindIndex(kind))
        }
        let text = String(decoding: UnsafeBufferPointer(start: scanner.base + raw.start, count: raw.count), as: UTF8.self)
        return .string(text)
    }

    private func kindIndex(_ kind: EventKind) -> Int { EventKind.allCases.firstIndex(of: kind)! }

    private func buildEvent() throws(DecodeError) -> Event {
        let kind: EventKind
        switch slots[EventKey.kind.rawValue] {
        case nil: throw DecodeError("missing field 'kind'")
        case let .int(code)?: kind = EventKind.allCases[-1 - code]
        case let .string(name)?:
            if name == "stack.req" { throw DecodeError("control line 'stack.req' is not an event") }
            throw DecodeError("unknown kind '\(name.prefix(40))'")
        case let other?: throw DecodeError("field 'kind': expected string, got \(other.typeName)")
        }
        let rank = try int(.rank, min: -1)
        if let world, rank >= world { throw DecodeError("field 'rank': \(rank) is outside the world of \(world)") }
        let ts = try number(.ts)
        guard ts.isFinite else { throw DecodeError("field 'ts': not a finite number") }
        let seq = try optionalInt(.seq, min: 0)
        if rank == -1, kind != .inject, kind != .log {
            throw DecodeError("field 'rank': -1 is only for run-wide events, not '\(kind.rawValue)'")
        }
        return Event(rank: rank, ts: ts, seq: seq, try body(kind))
    }

    private func body(_ kind: EventKind) throws(DecodeError) -> EventBody {
        switch kind {
        case .hello:
            let v = try int(.v)
            guard v == 1 else { throw DecodeError("field 'v': protocol version \(v) is not supported (expected 1)") }
            let world = try int(.world, min: 1)
            return .hello(Hello(
                v: v, run: try string(.run), world: world,
                localRank: try int(.localRank, min: 0), localWorld: try int(.localWorld, min: 1),
                node: try string(.node), pid: try int(.pid, min: 0), runtime: try string(.runtime),
                timeout: try optionalNumber(.timeout), restart: try optionalInt(.restart, min: 0),
                caps: try optionalStrings(.caps) ?? [], token: try optionalString(.token)
            ))
        case .progress:
            return .progress(Progress(
                step: try int(.step, min: 0), total: try optionalInt(.total, min: 0),
                epoch: try optionalNumber(.epoch), metrics: try metrics()
            ))
        case .barrierEnter:
            return .barrierEnter(BarrierEnter(
                n: try int(.n, min: 0), name: try optionalString(.name),
                site: try optionalString(.site), phase: try optionalString(.phase)
            ))
        case .barrierExit:
            return .barrierExit(n: try int(.n, min: 0))
        case .phaseEnter:
            let modeText = try string(.mode)
            guard let mode = PhaseMode(rawValue: modeText) else {
                throw DecodeError("field 'mode': '\(modeText.prefix(40))' is not main_first or local_main_first")
            }
            return .phaseEnter(PhaseEnter(name: try string(.name), mode: mode, main: try bool(.main)))
        case .phaseExit:
            return .phaseExit(name: try string(.name))
        case .triggerSet:
            let sourceText = try string(.source)
            guard let source = TriggerSource(rawValue: sourceText) else {
                throw DecodeError("field 'source': '\(sourceText.prefix(40))' is not code or manual")
            }
            return .triggerSet(TriggerSet(source: source, reason: try optionalString(.reason), id: try optionalString(.id)))
        case .triggerCheck:
            return .triggerCheck(n: try int(.n, min: 0), fired: try bool(.fired))
        case .log:
            let levelText = try string(.level)
            guard let level = LogLevel(rawValue: levelText) else {
                throw DecodeError("field 'level': '\(levelText.prefix(40))' is not debug, info, warning or error")
            }
            return .log(level: level, msg: try string(.msg))
        case .heartbeat:
            return .heartbeat
        case .stack:
            return .stack(id: try string(.id), frames: try optionalStrings(.frames) ?? [])
        case .bye:
            return .bye(code: try optionalInt(.code), error: try optionalString(.error))
        case .lost:
            return .lost(reason: try optionalString(.reason) ?? "")
        case .dropped:
            return .dropped(count: try int(.count, min: 0))
        case .inject:
            return .inject(Injection(id: try string(.id), reason: try optionalString(.reason), by: try optionalString(.by)))
        }
    }

    // MARK: typed field access

    private func value(_ key: EventKey) -> JSONValue? {
        guard let value = slots[key.rawValue], value != .null else { return nil }
        return value
    }

    private func missing(_ key: EventKey) -> DecodeError { DecodeError("missing field '\(key.jsonName)'") }

    private func wrongType(_ key: EventKey, _ expected: String, _ got: JSONValue) -> DecodeError {
        DecodeError("field '\(key.jsonName)': expected \(expected), got \(got.typeName)")
    }

    private func optionalInt(_ key: EventKey, min: Int? = nil) throws(DecodeError) -> Int? {
        guard let value = value(key) else { return nil }
        let result: Int
        switch value {
        case let .int(i): result = i
        case let .double(d) where d.isFinite && d.rounded() == d && abs(d) < 9e15: result = Int(d)
        default: throw wrongType(key, "integer", value)
        }
        if let min, result < min { throw DecodeError("field '\(key.jsonName)': \(result) is below \(min)") }
        return result
    }

    private func int(_ key: EventKey, min: Int? = nil) throws(DecodeError) -> Int {
        guard let result = try optionalInt(key, min: min) else { throw missing(key) }
        return result
    }

    private func optionalNumber(_ key: EventKey) throws(DecodeError) -> Double? {
        guard let value = value(key) else { return nil }
        switch value {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: throw wrongType(key, "number", value)
        }
    }

    private func number(_ key: EventKey) throws(DecodeError) -> Double {
        guard let result = try optionalNumber(key) else { throw missing(key) }
        return result
    }

    private func optionalString(_ key: EventKey) throws(DecodeError) -> String? {
        guard let value = value(key) else { return nil }
        guard case let .string(s) = value else { throw wrongType(key, "string", value) }
        return s
    }

    private func string(_ key: EventKey) throws(DecodeError) -> String {
        guard let result = try optionalString(key) else { throw missing(key) }
        return result
    }

    private func bool(_ key: EventKey) throws(DecodeError) -> Bool {
        guard let value = value(key) else { throw missing(key) }
        guard case let .bool(b) = value else { throw wrongType(key, "boolean", value) }
        return b
    }

    private func optionalStrings(_ key: EventKey) throws(DecodeError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case let .array(items) = value else { throw wrongType(key, "array of strings", value) }
        var result: [String] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case let .string(s) = item else { throw wrongType(key, "array of strings", item) }
            result.append(s)
        }
        return result
    }

    private func metrics() throws(DecodeError) -> [Metric] {
        guard let value = value(.metrics) else { return [] }
        guard case let .object(members) = value else { throw wrongType(.metrics, "object", value) }
        var result: [Metric] = []
        result.reserveCapacity(members.count)
        for (name, member) in members {
            switch member {
            case let .int(i): result.append(Metric(name, Double(i)))
            case let .double(d): result.append(Metric(name, d))
            case .null: result.append(Metric(name, .nan))
            default: throw DecodeError("field 'metrics.\(name.prefix(40))': expected number, got \(member.typeName)")
            }
        }
        return result
    }
}
