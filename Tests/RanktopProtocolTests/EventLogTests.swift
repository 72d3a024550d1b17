import Foundation
import Testing
@testable import RanktopProtocol

@Suite struct EventLogTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("RanktopModelTests/Fixtures")

    func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ranktop-\(UUID().uuidString)-\(name)").path
    }

    @Test func theHostileLogIsReadToTheEndWithEveryBadLineCounted() throws {
        var kinds: [EventKind] = []
        let summary = try EventLogReader.read(path: Self.fixtures.appendingPathComponent("hostile.jsonl").path) { kinds.append($0.kind) }
        #expect(summary.events == kinds.count)
        #expect(summary.rejected == 11)
        #expect(summary.truncatedTailBytes == 49)
        let reasons = summary.rejectedSamples.map(\.reason)
        #expect(reasons.contains("unknown kind 'teleport'"))
        #expect(reasons.contains("invalid UTF-8"))
        #expect(reasons.contains { $0.hasPrefix("line too long: 100065 bytes") })
        #expect(reasons.contains { $0.hasPrefix("truncated last line") })
        #expect(summary.rejectedSamples.map(\.line) == [5, 6, 7, 8, 15, 16, 17, 18, 19, 20, 22])
        // The good lines after every kind of damage still arrive, the last one included.
        #expect(kinds.last == .log)
    }

    @Test func writerAndReaderAgreeOnEveryEvent() throws {
        let path = temporaryPath("roundtrip.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EventLogWriter(path: path)
        for event in EventCodecTests.everyKind { try writer.append(event) }
        try writer.flush()
        var read: [Event] = []
        let summary = try EventLogReader.read(path: path) { read.append($0) }
        #expect(read == EventCodecTests.everyKind)
        #expect(summary.rejected == 0)
    }

    @Test func rawLinesAreAppendedAsReceived() throws {
        let path = temporaryPath("raw.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EventLogWriter(path: path)
        let line = #"{"kind":"heartbeat","rank":0,"ts":1,"future_field":[1,2]}"#
        try Array(line.utf8).withUnsafeBufferPointer { try writer.append(line: $0) }
        try writer.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == line + "\n")
    }

    @Test func aMissingLogIsAClearError() {
        #expect(throws: LogReadError.self) { try EventLogReader.read(path: "/nonexistent/run.jsonl") { _ in } }
    }

    @Test func aLogLargerThanOneReadChunkIsReadCompletely() throws {
        let path = temporaryPath("large.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EventLogWriter(path: path)
        let count = 40_000
        for i in 0..<count { try writer.append(Event(rank: i % 8, ts: Double(i), seq: i / 8, .progress(Progress(step: i / 8)))) }
        try writer.flush()
        #expect(writer.bytesWritten > EventLogReader.chunkBytes)
        var seen = 0
        var lastStep = -1
        let summary = try EventLogReader.read(path: path) { event in
            seen += 1
            if case let .progress(p) = event.body { lastStep = p.step }
        }
        #expect(seen == count)
        #expect(lastStep == (count - 1) / 8)
        #expect(summary.rejected == 0)
    }

    /// A byte range gives exactly the lines wholly inside it, whichever bytes it starts and ends
    /// on, across read chunks: the whole log and every cut of it agree line for line.
    @Test func aByteRangeReadsTheLinesWhollyInsideIt() throws {
        let path = temporaryPath("ranges.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try EventLogWriter(path: path)
        for i in 0..<5_000 { try writer.append(Event(rank: 0, ts: Double(i), seq: i, .progress(Progress(step: i)))) }
        try writer.flush()
        // Several of the reader's 128 KiB reads.
        #expect(writer.bytesWritten > 2 * (128 << 10))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        // Line i spans starts[i] ..< starts[i + 1].
        let starts = [0] + bytes.indices.filter { bytes[$0] == 0x0A }.map { $0 + 1 }
        var cuts = [0, 1, starts[1] - 1, starts[1], starts[1] + 1, bytes.count / 2, bytes.count - 1, bytes.count]
        cuts += (0..<10).map { _ in Int.random(in: 0...bytes.count) }
        for lower in cuts {
            for upper in cuts where upper >= lower {
                var steps: [Int] = []
                let summary = try EventLogReader.read(path: path, bytes: lower..<upper) { event in
                    if case let .progress(p) = event.body { steps.append(p.step) }
                }
                let expected = (0..<5_000).filter { starts[$0] >= lower && starts[$0 + 1] <= upper }
                #expect(steps == expected, "bytes \(lower)..<\(upper)")
                #expect(summary.rejected == 0)
            }
        }
    }
}
