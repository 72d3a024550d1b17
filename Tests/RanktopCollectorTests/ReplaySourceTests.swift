import Foundation
@testable import RanktopCollector
import RanktopProtocol
import RanktopSynthetic
import Testing

@Suite struct ReplaySourceTests {
    func writeLog(_ events: [Event], extra: String = "") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ranktop-replay-\(UUID().uuidString).jsonl").path
        let text = events.map(EventEncoder.line).joined(separator: "\n") + "\n" + extra
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func test_replaysEveryEventInOrder_andReportsRejectedLines() async throws {
        let events = SyntheticRun.eight.events()
        let path = try writeLog(events, extra: "{\"kind\":\"progress\"}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = LogReplaySource(path: path, speed: 0)
        #expect(!source.canControl)
        var seen: [Event] = []
        for await event in source.events() { seen.append(event) }
        #expect(seen.count == events.count)
        #expect(zip(seen, events).allSatisfy { $0.rank == $1.rank && $0.kind == $1.kind && $0.seq == $1.seq && abs($0.ts - $1.ts) < 1e-5 })
        #expect(source.summary?.rejected == 1)
        #expect(abs((source.replayedNow() ?? 0) - events.map(\.ts).max()!) < 1e-5)
    }

    @Test func test_aReplayAtFullSpeed_handsOverWholeBatches_neverAnEmptyOne() async throws {
        let events = SyntheticRun.sixtyFour.events()
        let path = try writeLog(events)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var sizes: [Int] = []
        for await batch in LogReplaySource(path: path, speed: 0).batches() { sizes.append(batch.count) }
        #expect(sizes.reduce(0, +) == events.count)
        #expect(!sizes.contains(0))
        #expect(sizes.count == (events.count + LogReplaySource.batchLimit - 1) / LogReplaySource.batchLimit)
    }

    @Test func test_pacesEventsByTheirTimestamps() async throws {
        let t0 = SyntheticRun.t0
        let events = [Event(rank: 0, ts: t0, seq: 0, .hello(Hello(run: "t", world: 1, localRank: 0, localWorld: 1, node: "gpu-1", pid: 100, runtime: "test"))), Event(rank: 0, ts: t0 + 0.4, .heartbeat)]
        let path = try writeLog(events)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = LogReplaySource(path: path, speed: 2)
        let start = Date()
        var count = 0
        for await _ in source.events() { count += 1 }
        let took = Date().timeIntervalSince(start)
        #expect(count == 2)
        #expect(took >= 0.19)
    }

    @Test func test_controlRequestsFailWithAReason() async {
        let source = LogReplaySource(path: "/tmp/x.jsonl")
        await #expect(throws: LogReplaySource.NotControllable.self) { try await source.injectTrigger(reason: nil) }
        await #expect(throws: LogReplaySource.NotControllable.self) { try await source.requestStack(rank: 0) }
    }

    @Test func test_anUnreadableLogEndsTheStreamWithAnError() async {
        let source = LogReplaySource(path: "/nonexistent/run.jsonl", speed: 0)
        var count = 0
        for await _ in source.events() { count += 1 }
        #expect(count == 0)
        #expect(source.readError?.contains("cannot open") == true)
    }
}
