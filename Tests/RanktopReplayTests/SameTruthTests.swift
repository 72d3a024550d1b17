import RanktopCollector
import RanktopModel
import RanktopProtocol
import RanktopSynthetic
@testable import RanktopUI
import Testing

/// One log, two paths: fed to the live dashboard as its events happen, and replayed from the
/// file with seeks back and forth. At the same instant both draw the same screen: the same
/// reducer, the same derived views, and every figure of time on the run's clock.
@Suite struct SameTruthTests {
    static let size = Size(width: 120, height: 40)

    @Test func test_liveAndReplayDrawTheSameScreenAtTheSameInstants_seeksIncluded() throws {
        let log = try ReplayLog()
        let start = log.events.map(\.ts).min()!, end = log.events.map(\.ts).max()!
        let instants = stride(from: start + 0.5, to: end - 0.5, by: (end - start) / 12).map { $0 }

        // Live: the inbox gets each event once the clock has reached it, as a collector would.
        let liveClock = VirtualClock(wall: 1000)
        let liveScreen = TestScreen(size: Self.size, clock: liveClock)
        let inbox = DashboardInbox()
        var live = DashboardApp(
            settings: .init(options: DashboardOptions(label: "live", canControl: false)), screen: liveScreen, inbox: inbox, clock: liveClock
        ) { _ in }
        var liveFrames: [Double: [String]] = [:]
        var delivered = 0
        for instant in instants {
            let due = log.prefix(upTo: instant).count
            inbox.post(Array(log.events[delivered..<due]))
            delivered = due
            liveFrames[instant] = frame(of: &live, screen: liveScreen, clock: liveClock, at: instant)
        }

        // Replay: the same log from its file, paused, the instants visited out of order.
        let timeline = try ReplayTimeline(path: log.path, spacing: 64)
        timeline.runFirstPass()
        let replayClock = VirtualClock(wall: 1000)
        // One row more: the timeline line; the rows above it must match the live screen's.
        let replayScreen = TestScreen(size: Size(width: Self.size.width, height: Self.size.height + 1), clock: replayClock)
        var replay = DashboardApp(
            settings: .init(options: DashboardOptions(label: "live", canControl: false)), screen: replayScreen, inbox: DashboardInbox(),
            clock: replayClock, replay: timeline
        ) { _ in }
        replayScreen.press(.char(" "))
        _ = replay.step()
        #expect(!replay.playback.playing)
        var order = instants
        var random = SplitMix64(seed: 3)
        order.shuffle(using: &random)
        order += instants.reversed()
        for instant in order {
            timeline.seek(to: instant)
            let replayed = frame(of: &replay, screen: replayScreen, clock: replayClock, at: instant)
            let expected = try #require(liveFrames[instant])
            // Header and body: everything but the replay's timeline line and the footer.
            let (got, want) = (Array(replayed.prefix(Self.size.height - 1)), Array(expected.prefix(Self.size.height - 1)))
            let difference = zip(got, want).first { $0 != $1 }.map { "\n  replay \($0.0)\n  live   \($0.1)" } ?? ""
            #expect(got == want, "at +\(instant - start) s\(difference)")
            #expect(replayed[Self.size.height - 1].contains("REPLAY"))
        }
    }

    /// Steps the app until it draws, with the run's clock at `instant` for a live app.
    func frame(of app: inout DashboardApp, screen: TestScreen, clock: VirtualClock, at instant: Double) -> [String] {
        // A second of wall time: the clocks' tick is due, so a frame is.
        clock.advance(by: 1.5)
        clock.runOffset = instant - clock.wall
        let before = screen.frames.count
        for _ in 0..<5 where screen.frames.count == before {
            // A key nothing is bound to keeps the loop from waiting (which would move the clock).
            screen.press(.char("z"))
            _ = app.step()
        }
        return screen.frames.last?.textLines() ?? []
    }
}
