import Foundation
@testable import RanktopCollector
import RanktopModel
import RanktopProtocol
import RanktopSynthetic
@testable import RanktopUI
import RanktopTestSupport
import Testing

/// A timeline's position, wherever seeks and steps put it, holds the model a straight fold of
/// the log up to there holds; the first pass's checkpoints stay in their budget.
@Suite struct ReplayTimelineTests {
    /// The screen a model makes at `now`: the strictest comparison of two models there is.
    func screen(_ model: RunModel, at now: Double) -> String {
        var dashboard = Dashboard(options: DashboardOptions(label: "log", canControl: false))
        return dashboard.render(model: model, now: now, size: Size(width: 120, height: 40)).text()
    }

    func firstDifference(_ a: String, _ b: String) -> String {
        for (x, y) in zip(a.split(separator: "\n"), b.split(separator: "\n")) where x != y { return "\n  got  \(x)\n  want \(y)" }
        return "(same lines)"
    }

    func fold(_ events: ArraySlice<Event>) -> RunModel {
        var model = RunModel(limits: .live)
        for event in events { model.apply(event) }
        return model
    }

    @Test func test_seekingForwardAndBackAnywhereGivesWhatAStraightFoldGives() throws {
        let log = try ReplayLog()
        // A checkpoint every 37 events: most seeks restore one and fold on from it.
        let timeline = try ReplayTimeline(path: log.path, spacing: 37)
        timeline.runFirstPass()
        #expect(timeline.found.done)
        #expect(timeline.found.checkpoints.count > 10)
        let start = log.events.map(\.ts).min()!, end = log.events.map(\.ts).max()!
        var random = SplitMix64(seed: 14)
        var targets = (0..<40).map { _ in start - 1 + Double(random.next() % 10_000) / 10_000 * (end - start + 2) }
        targets += [start, end, start - 5, end + 5]
        for target in targets {
            timeline.seek(to: target)
            let expected = fold(log.prefix(upTo: target))
            #expect(timeline.index == expected.eventCount, "at \(target)")
            #expect(timeline.model.lastTs == expected.lastTs)
            let now = timeline.clock ?? target
            let (got, want) = (screen(timeline.model, at: now), screen(expected, at: now))
            #expect(got == want, "the screen at \(target): \(firstDifference(got, want))")
        }
    }

    @Test func test_steppingOneEventBackAndForwardIsTheFoldOfOneEventLessAndMore() throws {
        let log = try ReplayLog()
        let timeline = try ReplayTimeline(path: log.path, spacing: 50)
        timeline.runFirstPass()
        for index in [0, 1, 49, 50, 51, 300, log.events.count - 1] {
            timeline.seek(toEvent: index)
            timeline.step(by: -1)
            #expect(timeline.index == max(0, index - 1))
            #expect(timeline.model.eventCount == max(0, index - 1))
            timeline.step(by: 1)
            timeline.step(by: 1)
            let expected = fold(log.events.prefix(min(log.events.count, max(0, index - 1) + 2)))
            #expect(timeline.index == expected.eventCount)
            let (got, want) = (screen(timeline.model, at: expected.lastTs ?? 0), screen(expected, at: expected.lastTs ?? 0))
            #expect(got == want, "around event \(index): \(firstDifference(got, want))")
        }
        // Past the end, a step stays at the end.
        timeline.seek(toEvent: log.events.count + 10)
        #expect(timeline.index == log.events.count)
    }

    @Test func test_checkpointsAreThinnedToStayWithinTheirBudget() throws {
        let log = try ReplayLog(.sixtyFour)
        let oneModel = 200_000
        let timeline = try ReplayTimeline(path: log.path, spacing: 4, budgetBytes: 16 * oneModel)
        timeline.runFirstPass()
        let found = timeline.found
        #expect(found.checkpoints.count <= ReplayIndex.checkpointCeiling)
        #expect(found.spacing > 4, "the spacing doubled as checkpoints were dropped")
        #expect(found.checkpoints.allSatisfy { $0.index % found.spacing == 0 })
        #expect(found.heldBytes <= max(16 * oneModel, ReplayIndex.checkpointFloor * ReplayIndex.approximateBytes(of: fold(log.events[...]))) * 2)
        // Thinned or not, a seek still lands where a straight fold does.
        let middle = log.events[log.events.count / 2].ts
        timeline.seek(to: middle)
        #expect(timeline.index == log.prefix(upTo: middle).count)
    }

    @Test func test_linesThatAreNotEventsAreCountedAndSkipped() throws {
        let log = try ReplayLog(garbage: 100)
        let timeline = try ReplayTimeline(path: log.path, spacing: 64)
        timeline.runFirstPass()
        #expect(timeline.found.rejected == log.events.count / 100)
        #expect(timeline.found.events == log.events.count)
        #expect(timeline.overview.rejected == log.events.count / 100)
        timeline.seek(to: log.events.last!.ts)
        #expect(timeline.model.eventCount == log.events.count)
    }

    @Test func test_aLogThatIsStillBeingWrittenIsReadOnAsItGrows() throws {
        let log = try ReplayLog()
        let timeline = try ReplayTimeline(path: log.path)
        timeline.advance(to: .infinity)
        #expect(timeline.index == log.events.count)
        #expect(timeline.isAtEnd)
        var line: [UInt8] = []
        EventEncoder.encode(Event(rank: 0, ts: log.events.last!.ts + 1, seq: 999_999, .heartbeat), into: &line)
        let handle = try #require(FileHandle(forWritingAtPath: log.path))
        handle.seekToEndOfFile()
        // Half a line is not read until its newline comes.
        handle.write(Data(line.dropLast(5)))
        #expect(timeline.isAtEnd)
        handle.write(Data(line.suffix(5)))
        try handle.close()
        #expect(!timeline.isAtEnd)
        timeline.advance(to: .infinity)
        #expect(timeline.index == log.events.count + 1)
    }
}

/// `--follow`: played to the end of a log still being written, the replay goes live and shows
/// what is appended, on the wall clock; any seek leaves live.
@Suite struct ReplayFollowTests {
    @Test func test_atTheEndOfAFollowedLogTheReplayGoesLiveAndShowsNewLines() async throws {
        let log = try ReplayLog()
        let timeline = try ReplayTimeline(path: log.path, follow: true)
        timeline.startFirstPass()
        defer { timeline.stop() }
        try await waitUntil("the first pass to read the log", timeout: 30) { timeline.found.events == log.events.count }
        #expect(!timeline.found.done, "a followed log is never read to its end")
        var playback = ReplayPlayback(speed: 0, follow: true)
        let end = log.events.last!.ts
        var wall = end + 5
        for _ in 0..<10 where !playback.live {
            _ = playback.tick(timeline, wall: wall)
            wall += 0.1
        }
        #expect(playback.live)
        #expect(timeline.index == log.events.count)

        var line: [UInt8] = []
        EventEncoder.encode(Event(rank: 2, ts: wall, seq: 999_999, .heartbeat), into: &line)
        let handle = try #require(FileHandle(forWritingAtPath: log.path))
        handle.seekToEndOfFile()
        handle.write(Data(line))
        try handle.close()
        wall += 0.5
        _ = playback.tick(timeline, wall: wall)
        #expect(timeline.index == log.events.count + 1)
        #expect(timeline.clock == wall, "live, the clock is the wall clock")
        try await waitUntil("the first pass to read the new line", timeout: 30) { timeline.found.events == log.events.count + 1 }

        _ = playback.perform(.seek(seconds: -10), on: timeline, wall: wall)
        #expect(!playback.live)
        #expect(timeline.clock == wall - 10)
        _ = playback.perform(.end, on: timeline, wall: wall)
        #expect(playback.live)
    }
}
