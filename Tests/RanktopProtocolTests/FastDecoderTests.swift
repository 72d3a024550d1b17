import Foundation
import Testing
@testable import RanktopProtocol

/// Issue 14, item 5: the decoder's fast paths (numbers eight digits at a time, strings scanned to
/// their first special byte, keys and kinds matched as words, slots marked present rather than
/// cleared) held against the decoder they replaced (`ReferenceDecoder.swift`) and against strtod.
/// Every comparison is of results; nothing here hard-codes what a number or a line decodes to.
@Suite struct FastDecoderTests {
    // MARK: numbers

    /// The number forms that matter, and the edges around each fast path.
    static let edgeNumbers: [String] = [
        "0", "-0", "0.0", "-0.0", "1", "-1", "7", "42", "-42", "12345678", "123456789", "-12345678",
        "1234567812345678", "9007199254740991", "9007199254740992", "9007199254740993",
        "9223372036854775807", "9223372036854775808", "-9223372036854775807", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616", "99999999999999999999",
        "1234567890123456789", "12345678901234567890", "123456789012345678901234567890",
        "1733000000.123456", "1764374400.005359", "1764374400.00058", "1764374419.508631", "0.039",
        "2.8889", "2.88847", "0.0003", "3e-4", "0.1", "0.2", "0.3", "1.5", "-1.5", "12345678.12345678",
        "0.12345678901234567", "0.123456789012345678", "1.7976931348623157e308", "1.7976931348623159e308",
        "1e308", "1e309", "-1e309", "1e-308", "2.2250738585072014e-308", "2.2250738585072011e-308",
        "4.9406564584124654e-324", "5e-324", "2e-324", "1e-400", "-1e-400", "1e22", "1e23", "1.5e22",
        "9007199254740993e22", "1E5", "1e+5", "1e-5", "1e0", "1e-0", "1e00000000000000000001",
        "1e100000000000", "1e-100000000000", "0e0", "0.0e-5", "123.456e-7", "8.0", "80000000.0",
        "1.00000000000000000000000000001", "100000000000000000000000", "3.141592653589793238462643",
        "NaN", "-NaN", "Infinity", "-Infinity",
        // malformed
        "", "-", "+1", "--1", "00", "01", "-01", "0012345678", "1.", "-1.", "1.e5", ".5", "-.5", "1e",
        "1e+", "1e-", "1E+-5", "1ee5", "Inf", "-Inf", "NaNx", "Nan", "Infinit", "0x10", "1_000",
        "12345678.", "1234567.8", "1.2.3", "1e5e5", "12345678a", "1234567a8", "a", "-a", "e5",
    ]

    /// Random numbers of every shape: signs, 1 to 25 integer digits (a few with a leading zero),
    /// fractions of up to 20 digits, exponents of either sign up to 400, and junk from the same
    /// alphabet.
    static func randomNumbers(_ count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        func digits(_ n: Int) -> String {
            String((0..<n).map { _ in Character(String(Int.random(in: 0...9, using: &rng))) })
        }
        return (0..<count).map { _ in
            if Int.random(in: 0..<10, using: &rng) == 0 {
                let alphabet = Array("0123456789.-+eEN")
                return String((0..<Int.random(in: 1...30, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            }
            var s = Bool.random(using: &rng) ? "-" : ""
            let intDigits = Int.random(in: 1...25, using: &rng)
            var int = digits(intDigits)
            if int.count > 1, Int.random(in: 0..<8, using: &rng) != 0, int.first == "0" { int = "1" + int.dropFirst() }
            s += int
            if Bool.random(using: &rng) { s += "." + digits(Int.random(in: 1...20, using: &rng)) }
            if Int.random(in: 0..<3, using: &rng) == 0 {
                s += ["e", "E", "e+", "e-", "E-"].randomElement(using: &rng)! + String(Int.random(in: 0...400, using: &rng))
            }
            return s
        }
    }

    enum Scanned: Equatable {
        case int(Int, end: Int)
        case double(UInt64, end: Int)
        case failed(String, offset: Int)
    }

    static func fast(_ text: String) -> Scanned {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            var scanner = JSONScanner(UnsafeBufferPointer(buffer))
            do throws(JSONSyntaxError) {
                switch try scanner.scanNumber() {
                case let .int(i): return .int(i, end: scanner.pos)
                case let .double(d): return .double(d.isNaN ? Double.nan.bitPattern : d.bitPattern, end: scanner.pos)
                }
            } catch {
                return .failed(error.message, offset: error.offset)
            }
        }
    }

    static func reference(_ text: String) -> Scanned {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            var scanner = ReferenceJSONScanner(UnsafeBufferPointer(buffer))
            do throws(ReferenceJSONSyntaxError) {
                switch try scanner.parseNumber() {
                case let .int(i): return .int(i, end: scanner.pos)
                case let .double(d): return .double(d.isNaN ? Double.nan.bitPattern : d.bitPattern, end: scanner.pos)
                default: return .failed("not a number", offset: -1)
                }
            } catch {
                return .failed(error.message, offset: error.offset)
            }
        }
    }

    /// Every number, followed by each delimiter a line can have after it (or nothing: the end of
    /// the buffer, where the eight-digit loads must not read), scans as the old parser scanned it.
    @Test func numbersScanAsTheReferenceScannerDid() {
        let numbers = Self.edgeNumbers + Self.randomNumbers(20_000, seed: 14)
        var mismatches: [String] = []
        for number in numbers {
            for suffix in ["", ",", "}", " ", "]", "x", "12345678", ".5", "e5"] {
                let text = number + suffix
                let fast = Self.fast(text)
                let reference = Self.reference(text)
                if fast != reference, mismatches.count < 20 { mismatches.append("\(text): \(fast) vs \(reference)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// Non-integers come out exactly as strtod reads the same text: the Clinger fast path and the
    /// eight-digit mantissa are only taken where they are exact.
    @Test func decimalsAreExactlyWhatStrtodReads() {
        let numbers = Self.edgeNumbers + Self.randomNumbers(20_000, seed: 1733)
        var checked = 0
        var mismatches: [String] = []
        for number in numbers {
            guard case let .double(bits, end) = Self.fast(number), end == number.utf8.count,
                  !number.contains("N"), !number.contains("I") else { continue }
            let expected = strtod(number, nil)
            checked += 1
            if bits != expected.bitPattern, mismatches.count < 20 { mismatches.append("\(number): \(Double(bitPattern: bits)) vs \(expected)") }
        }
        #expect(checked > 10_000)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func eightDigitsAtOnceIsTheDigitsValue() {
        var rng = SplitMix64(seed: 8)
        for _ in 0..<10_000 {
            let value = UInt64.random(in: 0..<100_000_000, using: &rng)
            var text = String(value)
            text = String(repeating: "0", count: 8 - text.count) + text
            let word = Array(text.utf8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            #expect(JSONScanner.eightDigits(word) == value)
        }
        for junk in ["1234567a", "/2345678", ":2345678", "1234567:", "12 45678", "-1234567", "\u{7F}1234567"] {
            let word = Array(junk.utf8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            #expect(JSONScanner.eightDigits(word) == nil, "\(junk)")
        }
    }

    /// true, false and null, compared as one word where eight bytes are readable, accept and
    /// refuse what the byte comparison did, at the same offsets, whatever follows them.
    @Test func literalsScanAsTheReferenceScannerDid() {
        for (word, fast) in [("true", 0), ("false", 1), ("null", 2)] {
            var texts = [word, String(word.dropLast()), word.uppercased(), "x" + word.dropFirst(), String(word.prefix(2)) + "x" + word.dropFirst(3)]
            texts += texts.flatMap { t in ["", ",", "}", "1234567", "12345678", " , "].map { t + $0 } }
            for text in texts {
                let bytes = Array(text.utf8)
                let a: String = bytes.withUnsafeBufferPointer { buffer in
                    var scanner = JSONScanner(buffer)
                    do throws(JSONSyntaxError) {
                        switch fast {
                        case 0: try scanner.literalTrue()
                        case 1: try scanner.literalFalse()
                        default: try scanner.literalNull()
                        }
                        return "ok \(scanner.pos)"
                    } catch { return "\(error.message) \(error.offset)" }
                }
                let b: String = bytes.withUnsafeBufferPointer { buffer in
                    var scanner = ReferenceJSONScanner(buffer)
                    do throws(ReferenceJSONSyntaxError) {
                        switch fast {
                        case 0: try scanner.literal("true")
                        case 1: try scanner.literal("false")
                        default: try scanner.literal("null")
                        }
                        return "ok \(scanner.pos)"
                    } catch { return "\(error.message) \(error.offset)" }
                }
                #expect(a == b, "\(text)")
            }
        }
    }

    @Test func leadingDigitsCountsTheDigitsBeforeTheFirstOther() {
        var rng = SplitMix64(seed: 9)
        let alphabet = Array("0123456789:/ .-+eE,}\u{7F}\u{FF}".utf8) + [0xFA, 0xFF, 0x00, 0x30, 0x39]
        for _ in 0..<20_000 {
            let bytes = (0..<8).map { _ in Int.random(in: 0..<3, using: &rng) == 0 ? alphabet.randomElement(using: &rng)! : UInt8.random(in: 0x30...0x39, using: &rng) }
            let word = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            let expected = bytes.firstIndex { !(0x30...0x39).contains($0) } ?? 8
            #expect(JSONScanner.leadingDigits(word) == expected, "\(bytes)")
        }
    }

    // MARK: strings

    enum ScannedString: Equatable {
        case string(start: Int, count: Int, escaped: Bool, end: Int)
        case failed(String, offset: Int)
    }

    /// Strings of every length across the eight-byte steps, with quotes, backslashes, control
    /// characters and multi-byte UTF-8 anywhere, terminated or not: scanned as before.
    @Test func stringsScanAsTheReferenceScannerDid() {
        var rng = SplitMix64(seed: 22)
        let pieces: [[UInt8]] = [[0x61], [0x62], [0x20], [0x22], [0x5C], [0x5C, 0x22], [0x5C, 0x5C], [0x5C, 0x75], [0x01], [0x1F],
                                 [0x09], [0x0A], [0x7F], [0xC3, 0xA9], [0xE6, 0x97, 0xA5], [0xF0, 0x9F, 0x98, 0x80], [0x21], [0x23], [0x5B], [0x5D]]
        var mismatches: [String] = []
        for _ in 0..<30_000 {
            var bytes: [UInt8] = [0x22]
            let plain = Int.random(in: 0...20, using: &rng)
            bytes += Array(repeating: 0x78, count: plain)
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                bytes += pieces.randomElement(using: &rng)!
                bytes += Array(repeating: 0x79, count: Int.random(in: 0...10, using: &rng))
            }
            if Int.random(in: 0..<4, using: &rng) != 0 { bytes.append(0x22) }
            bytes += Array(repeating: 0x2C, count: Int.random(in: 0...9, using: &rng))
            let fast: ScannedString = bytes.withUnsafeBufferPointer { buffer in
                var scanner = JSONScanner(buffer)
                do throws(JSONSyntaxError) {
                    let raw = try scanner.scanStringRaw()
                    return .string(start: raw.start, count: raw.count, escaped: raw.escaped, end: scanner.pos)
                } catch { return .failed(error.message, offset: error.offset) }
            }
            let reference: ScannedString = bytes.withUnsafeBufferPointer { buffer in
                var scanner = ReferenceJSONScanner(buffer)
                do throws(ReferenceJSONSyntaxError) {
                    let raw = try scanner.scanStringRaw()
                    return .string(start: raw.start, count: raw.count, escaped: raw.escaped, end: scanner.pos)
                } catch { return .failed(error.message, offset: error.offset) }
            }
            if fast != reference, mismatches.count < 20 { mismatches.append("\(bytes): \(fast) vs \(reference)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    // MARK: keys and kinds

    static func keyMatch(_ name: [UInt8]) -> (Int?, Int?) {
        name.withUnsafeBufferPointer { b in
            let p = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
            return (EventKey.match(p, count: b.count)?.rawValue, ReferenceEventKey.match(p, count: b.count)?.rawValue)
        }
    }

    static func kindMatch(_ name: [UInt8]) -> (EventKind?, EventKind?) {
        name.withUnsafeBufferPointer { b in
            let p = b.baseAddress ?? UnsafePointer(bitPattern: 1)!
            return (EventKind.match(p, count: b.count), ReferenceEventKindMatch.match(p, count: b.count))
        }
    }

    /// Every name, and every near miss of every name (each byte changed, one cut, one added),
    /// matches as before; the keys' order, which sizes and indexes the slots, is the same too.
    @Test func keysAndKindsMatchAsBefore() {
        #expect(EventKey.allCases.map(\.jsonName) == ReferenceEventKey.allCases.map(\.jsonName))
        #expect(EventKey.caseCount <= 64, "the decoder's presence mask has 64 bits")
        #expect(MemoryLayout<FieldSlot>.stride * EventKey.caseCount <= 1024, "a line's slots stay on the stack")
        var names = EventKey.allCases.map { Array($0.jsonName.utf8) } + EventKind.allCases.map { Array($0.rawValue.utf8) }
        names += [[], Array("stack.req".utf8), Array("kindx".utf8), Array("local_ranks".utf8), Array("collective.enterx".utf8)]
        for name in names {
            var variants = [name, Array(name.dropLast()), name + [0x73], [0x5F] + name]
            for i in name.indices {
                for replacement: UInt8 in [0x00, 0x20, 0x22, 0x5F, name[i] ^ 0x20, name[i] &+ 1] {
                    var changed = name
                    changed[i] = replacement
                    variants.append(changed)
                }
            }
            for variant in variants {
                let (key, referenceKey) = Self.keyMatch(variant)
                #expect(key == referenceKey, "\(String(decoding: variant, as: UTF8.self))")
                let (kind, referenceKind) = Self.kindMatch(variant)
                #expect(kind == referenceKind, "\(String(decoding: variant, as: UTF8.self))")
            }
        }
    }

    // MARK: whole lines

    /// Lines whose every prefix, byte change and splice is decoded by both decoders.
    static func mutations(of line: [UInt8], _ rng: inout SplitMix64) -> [[UInt8]] {
        var out = [line]
        for cut in stride(from: 0, to: line.count, by: max(1, line.count / 24)) { out.append(Array(line[0..<cut])) }
        let tricky: [UInt8] = [0x22, 0x5C, 0x2C, 0x3A, 0x7B, 0x7D, 0x5B, 0x5D, 0x20, 0x09, 0x01, 0x30, 0x39, 0x2D, 0x2E, 0x65, 0x4E, 0x6E, 0x74, 0x66, 0xC3, 0x80, 0xFF]
        for _ in 0..<12 where !line.isEmpty {
            var changed = line
            let i = Int.random(in: 0..<changed.count, using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: changed[i] = tricky.randomElement(using: &rng)!
            case 1: changed.insert(tricky.randomElement(using: &rng)!, at: i)
            default: changed.remove(at: i)
            }
            out.append(changed)
        }
        out.append(line + [0x20, 0x20])
        out.append([0x20] + line)
        return out
    }

    static func assertSameDecoding(_ lines: [[UInt8]]) -> [String] {
        var fast = EventDecoder()
        var reference = ReferenceEventDecoder()
        var mismatches: [String] = []
        for line in lines {
            let a = fast.decode(line)
            let b = reference.decode(line)
            // NaN metrics are unequal to themselves: such events are compared by description.
            let same = a == b || String(describing: a) == String(describing: b)
            if !same || fast.world != reference.world, mismatches.count < 20 {
                mismatches.append("\(String(decoding: line, as: UTF8.self)): \(a) vs \(b)")
            }
        }
        return mismatches
    }

    /// Metrics objects of every shape (recorded in the first scan now, not scanned twice): empty,
    /// more members than the scan records, nulls, NaN, escaped names, values of every other type,
    /// nesting, whitespace, a second metrics key.
    @Test func metricsOfEveryShapeDecodeAsBefore() {
        let head = #"{"kind":"progress","rank":1,"ts":1764374400.5,"seq":3,"step":7,"#
        let bodies = [
            #""metrics":{}"#, #""metrics":{ }"#, #""metrics":{"loss":2.5,"lr":0.0003}"#, #""metrics" : { "loss" : 1 , "lr" : -0.0 } "#,
            #""metrics":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}"#, #""metrics":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}"#,
            #""metrics":{"loss":null,"nan":NaN,"inf":-Infinity}"#, #""metrics":{"löss":1,"a"b":2,"bad\q":3}"#,
            #""metrics":{"loss":"2.5"}"#, #""metrics":{"loss":true}"#, #""metrics":{"loss":[1]}"#, #""metrics":{"loss":{"x":1}}"#,
            #""metrics":{"a":1,"loss":false,"b":2}"#, #""metrics":{"a":1,"loss":nul}"#, #""metrics":{"a":1,}"#, #""metrics":{"a":1"#,
            #""metrics":{"a" 1}"#, #""metrics":{"a":1 "b":2}"#, #""metrics":{"a":01}"#, #""metrics":{"a":-}"#, #""metrics":{a:1}"#,
            #""metrics":[1,2]"#, #""metrics":null"#, #""metrics":3"#, #""metrics":{"a":1},"metrics":{"b":2}"#,
            #""metrics":{"a":"x"},"metrics":{"b":2}"#, #""metrics":{"b":2},"metrics":{"a":"x"}"#, #""metrics":{"a":1},"metrics":[1]"#,
            #""metrics":{"a":{"b":{"c":{"d":1}}}}"#, #""metrics":{"a":1e400,"b":123456789012345678901234567890}"#,
        ]
        var lines = bodies.map { Array((head + $0 + "}").utf8) }
        lines += bodies.map { Array((head + $0 + #","total":10}"#).utf8) }
        var rng = SplitMix64(seed: 11)
        lines += lines.flatMap { Self.mutations(of: $0, &rng) }
        let mismatches = Self.assertSameDecoding(lines)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    @Test func randomEventsAndTheirMutationsDecodeAsBefore() {
        var rng = SplitMix64(seed: 5)
        var lines: [[UInt8]] = []
        for _ in 0..<3000 {
            let line = Array(EventEncoder.line(RandomEvents.make(&rng)).utf8.dropLast())
            lines += Self.mutations(of: line, &rng)
        }
        let mismatches = Self.assertSameDecoding(lines)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// The benchmark log's lines (scripts/bench/make_log.py), the fuzz corpus and the model's
    /// golden fixtures, with their mutations.
    @Test func corpusLinesAndTheirMutationsDecodeAsBefore() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var files = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Fuzz/corpus").path)
            .filter { $0.hasSuffix(".jsonl") }.map { root.appendingPathComponent("Fuzz/corpus/\($0)") }
        files += try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Tests/RanktopModelTests/Fixtures").path)
            .filter { $0.hasSuffix(".jsonl") }.map { root.appendingPathComponent("Tests/RanktopModelTests/Fixtures/\($0)") }
        #expect(files.count >= 3)
        var lines: [[UInt8]] = [
            #"{"kind":"hello","rank":4,"ts":1764374400.005359,"seq":0,"v":1,"run":"bench","world":64,"local_rank":4,"local_world":8,"node":"gpu-0","pid":10004,"runtime":"accelerate/1.15.0 torch/2.15.0","timeout":1800,"caps":["inject","stack"]}"#,
            #"{"kind":"progress","rank":4,"ts":1764374419.504803,"seq":78,"step":39,"total":1000000000,"epoch":0.039,"metrics":{"loss":2.8889,"lr":0.0003}}"#,
            #"{"kind":"trigger.check","rank":4,"ts":1764374419.504686,"seq":79,"n":38,"fired":false}"#,
            #"{"kind":"barrier.enter","rank":9,"ts":1764374425.001,"seq":100,"n":0,"name":"save_checkpoint","site":"train.py:212"}"#,
            #"{"kind":"barrier.exit","rank":9,"ts":1764374425.5,"seq":101,"n":0}"#,
            #"{"kind":"heartbeat","rank":9,"ts":1764374426.25,"seq":102}"#,
            #"{"kind":"log","rank":3,"ts":1764374430.125,"seq":103,"level":"warning","msg":"grad norm 12.3 exceeds clip 1.0"}"#,
        ].map { Array($0.utf8) }
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: file))
            lines += bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        }
        var rng = SplitMix64(seed: 6)
        let mutated = lines.flatMap { Self.mutations(of: $0, &rng) }
        let mismatches = Self.assertSameDecoding(mutated)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    // MARK: the canonical-line path

    /// The lines `CanonicalLine` takes straight through (`progress`, `trigger.check`,
    /// `heartbeat` as the writers emit them) and every near miss of them: reordered fields, extra
    /// and unknown fields, whitespace, escapes, duplicates, nulls, other number forms, values out
    /// of range, truncations and byte changes. The decoder must agree with the reference on all
    /// of them, whichever path takes a line.
    static let canonicalVariants: [String] = {
        let head = #"{"kind":"KIND","rank":3,"ts":1764374400.504562,"seq":17"#
        let tails: [(String, [String])] = [
            ("progress", [
                #","step":1,"total":1000000000,"epoch":0.001,"metrics":{"loss":3.0028,"lr":0.0003}}"#,
                #","step":1}"#, #","step":0,"total":0}"#, #","step":9,"epoch":2}"#, #","step":9,"metrics":{}}"#,
                #","step":9,"metrics":{"":1}}"#, #","step":9,"metrics":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}}"#,
                #","step":9,"metrics":{"loss":null}}"#, #","step":9,"metrics":{"loss":NaN,"x":-Infinity}}"#,
                #","step":9,"metrics":{"l\u006fss":1}}"#, #","step":9,"metrics":{"löss":1}}"#, #","step":9,"metrics":{"loss":"1"}}"#,
                #","step":9,"metrics":{"loss":1,"loss":2}}"#, #","step":9,"metrics":{"loss":1e400}}"#, #","step":9,"metrics":{"loss":-0.0}}"#,
                #","step":9,"metrics":{"a_much_longer_metric_name/with/slashes":1.5}}"#,
                #","step":9,"metrics":{"loss" :1}}"#, #","step":9,"metrics":{ "loss":1}}"#, #","step":9,"metrics":{"loss":1 }}"#,
                #","step":9,"metrics":{"loss":1},"metrics":{"lr":2}}"#, #","step":9,"metrics":[1]}"#, #","step":9,"metrics":null}"#,
                #","step":9,"epoch":0.5,"total":10}"#, #","total":10,"step":9}"#, #","step":9,"total":10,"total":11}"#,
                #","step":9,"total":null}"#, #","step":9,"epoch":null}"#, #","step":9.0}"#, #","step":9.5}"#, #","step":-1}"#,
                #","step":09}"#, #","step":1e3}"#, #","step":9007199254740992}"#, #","step":9007199254740993}"#,
                #","step":99999999999999999999}"#, #","step":"9"}"#, #","step":9,"total":-1}"#, #","step":9,"epoch":"x"}"#,
                #","step":9,"unknown":[1,{"a":2}]}"#, #","step":9,"metrics":{"loss":1},"extra":true}"#, #","step":9} "#,
                #","step":9}x"#, #","step":9}}"#, #","step":9,}"#, #","step":9"#, #","step" : 9}"#, #", "step":9}"#,
            ]),
            ("trigger.check", [
                #","n":0,"fired":false}"#, #","n":41,"fired":true}"#, #","fired":false,"n":0}"#, #","n":0,"fired":null}"#,
                #","n":0,"fired":0}"#, #","n":0,"fired":fals}"#, #","n":0,"fired":truex}"#, #","n":0,"fired":true,"n":1}"#,
                #","n":0}"#, #","fired":true}"#, #","n":-1,"fired":true}"#, #","n":1.0,"fired":true}"#, #","n":0,"fired":true,"x":1}"#,
                #","n":0,"fired":true} "#, #","n":0,"fired": true}"#, #","n":0,"fired":true"#, #","n":0 ,"fired":true}"#,
            ]),
            ("heartbeat", [#"}"#, #" }"#, #",}"#, #","x":1}"#, #"}}"#, #"} "#, #","seq":18}"#, #","rank":4}"#]),
        ]
        var lines: [String] = []
        for (kind, bodies) in tails {
            let kindHead = head.replacingOccurrences(of: "KIND", with: kind)
            for body in bodies { lines.append(kindHead + body) }
            let body = bodies[0]
            // The header's own variants, with the kind's canonical body.
            let headers = [
                #"{"rank":3,"kind":"KIND","ts":1764374400.5,"seq":17"#, #"{"kind":"KIND","ts":1764374400.5,"rank":3,"seq":17"#,
                #"{"kind":"KIND","rank":3,"ts":1764374400.5"#, #"{"kind":"KIND","rank":3,"seq":17"#, #"{"kind":"KIND","ts":1764374400.5,"seq":17"#,
                #"{ "kind":"KIND","rank":3,"ts":1764374400.5,"seq":17"#, #"{"kind" :"KIND","rank":3,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","rank": 3,"ts":1764374400.5,"seq":17"#, #" {"kind":"KIND","rank":3,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","kind":"KIND","rank":3,"ts":1764374400.5,"seq":17"#, #"{"kind":"KIND","rank":3,"rank":4,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","rank":3,"ts":1764374400.5,"seq":17,"seq":18"#, #"{"kind":"KIND","rank":3,"ts":1764374400.5,"ts":1764374401,"seq":17"#,
                #"{"kind":"KIND","x":"y","rank":3,"ts":1764374400.5,"seq":17"#, #"{"\u006bind":"KIND","rank":3,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","r\u0061nk":3,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","rank":-1,"ts":1764374400.5,"seq":17"#, #"{"kind":"KIND","rank":0,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","rank":64,"ts":1764374400.5,"seq":17"#, #"{"kind":"KIND","rank":1048575,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","rank":1048576,"ts":1764374400.5,"seq":17"#, #"{"kind":"KIND","rank":03,"ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","rank":3.0,"ts":1764374400.5,"seq":17"#, #"{"kind":"KIND","rank":"3","ts":1764374400.5,"seq":17"#,
                #"{"kind":"KIND","rank":3,"ts":1764374400,"seq":17"#, #"{"kind":"KIND","rank":3,"ts":-1,"seq":17"#,
                #"{"kind":"KIND","rank":3,"ts":1e10,"seq":17"#, #"{"kind":"KIND","rank":3,"ts":1.0000000001e10,"seq":17"#,
                #"{"kind":"KIND","rank":3,"ts":NaN,"seq":17"#, #"{"kind":"KIND","rank":3,"ts":Infinity,"seq":17"#,
                #"{"kind":"KIND","rank":3,"ts":"1","seq":17"#, #"{"kind":"KIND","rank":3,"ts":null,"seq":17"#,
                #"{"kind":"KIND","rank":3,"ts":1764374400.5,"seq":null"#, #"{"kind":"KIND","rank":3,"ts":1764374400.5,"seq":-1"#,
                #"{"kind":"KIND","rank":3,"ts":1764374400.5,"seq":9007199254740993"#, #"{"kind":"KIND","rank":3,"ts":1764374400.5,"seq":17.5"#,
                #"{"kind":"KIND","rank":3,"ts":1764374400.5,"seq":0"#, #"{"kind":"KIND","rank":3,"ts":1764374400.5e0,"seq":17"#,
            ]
            for header in headers { lines.append(header.replacingOccurrences(of: "KIND", with: kind) + body) }
            // The kind spelled otherwise: escaped, cut, longer, another kind's.
            for other in [kind.replacingOccurrences(of: "e", with: "\\u0065"), String(kind.dropLast()), kind + "s", kind.uppercased()] {
                lines.append(head.replacingOccurrences(of: "KIND", with: other) + body)
            }
        }
        for other in ["barrier.exit", "hello", "log", "stack.req", "progres", "heartbeats", "trigger.checks"] {
            lines.append(head.replacingOccurrences(of: "KIND", with: other) + #","n":0}"#)
        }
        return lines
    }()

    @Test func canonicalLinesAndTheirNearMissesDecodeAsBefore() {
        var rng = SplitMix64(seed: 14)
        var lines = Self.canonicalVariants.map { Array($0.utf8) }
        lines += lines.flatMap { Self.mutations(of: $0, &rng) }
        // Without a world, and after a hello of 64 ranks (rank 64 is then outside it).
        let hello = Array(#"{"kind":"hello","rank":0,"ts":1764374400.0,"seq":0,"v":1,"run":"r","world":64,"local_rank":0,"local_world":8,"node":"n","pid":1,"runtime":"x"}"#.utf8)
        #expect(Self.assertSameDecoding(lines).isEmpty, "\(Self.assertSameDecoding(lines))")
        let afterHello = Self.assertSameDecoding([hello] + lines)
        #expect(afterHello.isEmpty, "\(afterHello)")
    }

    /// The metric names the canonical path reuses from the lines before: one decoder over lines
    /// whose names change place, length (to 8 bytes and past), count and bytes.
    @Test func reusedMetricNamesAreTheLinesOwn() {
        let head = #"{"kind":"progress","rank":1,"ts":1764374400.5,"seq":3,"step":7,"metrics":"#
        let objects = [
            #"{"loss":1,"lr":2}"#, #"{"loss":1,"lr":2}"#, #"{"lr":1,"loss":2}"#, #"{"los":1,"lrs":2}"#, #"{"lossloss":1,"lr":2}"#,
            #"{"losslos":1,"lr":2}"#, #"{"losslos":1,"lr":2,"a":3,"b":4,"c":5,"d":6}"#, #"{"a":1,"b":2,"c":3,"d":4,"e":5}"#,
            #"{"":1,"a":2}"#, #"{"a":1,"":2}"#, #"{"loss":1,"lr":2}"#, #"{"loss\u0000":1}"#, #"{"loss":1}"#, #"{"lösś":1,"lr":2}"#,
            #"{"loss":1,"lr":2}"#, #"{"a_long_metric_name":1}"#, #"{"a_long_metric_nbme":1}"#,
        ]
        let lines = objects.map { Array((head + $0 + "}").utf8) }
        let mismatches = Self.assertSameDecoding(lines + lines.reversed())
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// Numbers that the canonical path reads a word of digits at a time (`plainDecimal`,
    /// `counter`), in every position it reads them, and at the end of the line where fewer than
    /// eight bytes are left: 1 to 20 integer digits and 0 to 9 fraction digits, leading zeros,
    /// exponents, and values about 2^53. Each must decode as the reference decodes it.
    @Test func numbersReadByWordsAreTheReferenceValues() {
        var rng = SplitMix64(seed: 53)
        func digits(_ count: Int) -> String {
            String((0..<count).map { _ in Character(String(rng.next() % 10)) })
        }
        var numbers = ["0", "0.0", "0.5", "00.5", "1.", ".5", "1e5", "1.5E-3", "9007199254740992", "9007199254740993",
                       "900719925474099.3", "90071992547409.93", "1234567890123456789", "12345678901234567890", "1.0000000"]
        for intDigits in 1...20 {
            for fractionDigits in 0...9 {
                for _ in 0..<3 {
                    let lead = intDigits == 1 ? String(rng.next() % 10) : String(1 + rng.next() % 9) + digits(intDigits - 1)
                    numbers.append(fractionDigits == 0 ? lead : lead + "." + digits(fractionDigits))
                }
            }
        }
        var lines: [String] = []
        for number in numbers {
            lines.append(#"{"kind":"progress","rank":3,"ts":"# + number + #","seq":17,"step":1}"#)
            lines.append(#"{"kind":"progress","rank":3,"ts":1764374400.5,"seq":17,"step":1,"epoch":"# + number + "}")
            lines.append(#"{"kind":"progress","rank":3,"ts":1764374400.5,"seq":17,"step":1,"metrics":{"loss":"# + number + "}}")
            lines.append(#"{"kind":"progress","rank":3,"ts":1764374400.5,"seq":17,"step":1,"metrics":{"a":1,"lr":"# + number + "}}")
            lines.append(#"{"kind":"progress","rank":3,"ts":1764374400.5,"seq":"# + number + #","step":"# + number + "}")
            lines.append(#"{"kind":"trigger.check","rank":3,"ts":1764374400.5,"seq":17,"n":"# + number + #","fired":false}"#)
        }
        let mismatches = Self.assertSameDecoding(lines.map { Array($0.utf8) })
        #expect(mismatches.isEmpty, "\(mismatches)")
        // Not vacuous: the plain decimals of up to 16 digits below 2^53 took the fast path.
        var names = MetricNameCache()
        var bytes = Array(#"{"kind":"progress","rank":3,"ts":1764374400.504562,"seq":17,"step":1,"metrics":{"lr":0.0003}}"#.utf8)
        let event = bytes.withUnsafeMutableBufferPointer { CanonicalLine.decode(UnsafeBufferPointer($0), world: nil, names: &names) }
        #expect(event?.ts == 1764374400.504562)
        #expect(event.map { if case let .progress(p) = $0.body { p.metrics } else { [] } } == [Metric("lr", 0.0003)])
    }

    /// The reader reuses a finished event's metrics storage for the next line: an event that a
    /// reader kept must not change when later lines are read.
    @Test func eventsAReaderKeepsAreNotChangedByTheLinesAfter() {
        var text = ""
        for step in 1...50 {
            text += #"{"kind":"progress","rank":0,"ts":1764374400.5,"seq":\#(step),"step":\#(step),"metrics":{"loss":\#(step).5,"lr":0.\#(step)}}"# + "\n"
        }
        var stream = EventStreamDecoder()
        var kept: [Event] = []
        var seen: [Double] = []
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            stream.feed(buffer) { event in
                guard case let .progress(progress) = event.body else { return }
                // Every other event kept (its storage shared), the rest let go (recycled).
                if progress.step.isMultiple(of: 2) { kept.append(event) }
                seen.append(progress.metrics.first?.value ?? -1)
            }
        }
        #expect(seen == (1...50).map { Double($0) + 0.5 })
        for event in kept {
            guard case let .progress(progress) = event.body else { Issue.record("not a progress"); continue }
            #expect(progress.metrics == [Metric("loss", Double(progress.step) + 0.5), Metric("lr", Double("0.\(progress.step)")!)])
        }
        #expect(kept.count == 25)
    }

    /// The canonical shapes really take the straight-line path (the test above would pass
    /// without it), and its near misses do not.
    @Test func theCanonicalPathTakesTheWritersLines() {
        func fast(_ text: String) -> Event? {
            var bytes = Array(text.utf8)
            var names = MetricNameCache()
            return bytes.withUnsafeMutableBufferPointer { CanonicalLine.decode(UnsafeBufferPointer($0), world: 64, names: &names) }
        }
        let taken = [
            #"{"kind":"progress","rank":4,"ts":1764374419.504803,"seq":78,"step":39,"total":1000000000,"epoch":0.039,"metrics":{"loss":2.8889,"lr":0.0003}}"#,
            #"{"kind":"trigger.check","rank":4,"ts":1764374419.504686,"seq":79,"n":38,"fired":false}"#,
            #"{"kind":"trigger.check","rank":4,"ts":1764374419.504686,"seq":79,"n":38,"fired":true}"#,
            #"{"kind":"heartbeat","rank":9,"ts":1764374426.25,"seq":102}"#,
            #"{"kind":"progress","rank":0,"ts":1764374400,"seq":1,"step":1}"#,
        ]
        for line in taken { #expect(fast(line) != nil, "\(line)") }
        let missed = [
            #"{"kind":"heartbeat","rank":64,"ts":1764374426.25,"seq":102}"#, #"{"kind":"heartbeat","rank":9,"ts":1764374426.25}"#,
            #"{"kind":"heartbeat","rank":9,"ts":1764374426.25,"seq":102} "#, #"{"kind":"progress","rank":0,"ts":1764374400,"seq":1,"step":1,"metrics":{"loss":null}}"#,
            #"{"kind":"barrier.exit","rank":0,"ts":1764374425.00234,"seq":104,"n":0}"#,
        ]
        for line in missed { #expect(fast(line) == nil, "\(line)") }
    }
}
