@testable import RanktopUI
import Testing

/// The keymap is the one place keys are bound: no key does two things, the footer only names
/// keys that work, the help lists every binding.
@Suite struct KeymapTests {
    @Test(arguments: [false, true]) func test_noKeyIsBoundTwice(replay: Bool) {
        var seen: [Key] = []
        for entry in Keymap.entries(replay: replay) {
            for binding in entry.bindings {
                for key in binding.keys {
                    #expect(!seen.contains(key), "\(key) is bound twice (replay: \(replay))")
                    seen.append(key)
                    #expect(Keymap.command(for: key, replay: replay) == binding.command)
                }
            }
        }
    }

    @Test func test_aReplayTakesTheArrowsPageKeysGAndPToMoveInTheLog() {
        #expect(Keymap.command(for: .left, replay: true) == .replay(.seek(seconds: -10)))
        #expect(Keymap.command(for: .left) == .moveLeft)
        #expect(Keymap.command(for: .pageDown, replay: true) == .replay(.seek(seconds: 60)))
        #expect(Keymap.command(for: .char("g"), replay: true) == .replay(.start))
        #expect(Keymap.command(for: .char("g")) == .toggleGrid)
        #expect(Keymap.command(for: .char("v"), replay: true) == .toggleGrid)
        #expect(Keymap.command(for: .char(" "), replay: true) == .replay(.playPause))
        #expect(Keymap.command(for: .char("p"), replay: true) == .replay(.playPause))
        #expect(Keymap.command(for: .char("p")) == .pause)
        #expect(Keymap.command(for: .char("n")) == nil)
        // What a replay's help lists, and what the footer names, are keys that work there.
        for command in Keymap.replayFooterOrder {
            #expect(Keymap.entry(for: command, replay: true)?.hint != nil, "\(command) is in the replay footer without a hint")
        }
    }

    @Test func test_everyFooterHintNamesABoundKey() {
        let hints = Keymap.hints(canControl: true, glyphs: .ascii)
        #expect(hints.count == Keymap.footerOrder.count)
        for command in Keymap.footerOrder {
            let entry = Keymap.entry(for: command)
            #expect(entry?.hint != nil, "\(command) is in the footer without a hint")
            #expect(entry?.bindings.allSatisfy { !$0.keys.isEmpty } == true)
        }
    }

    @Test func test_withoutControl_theFooterDropsTheTrigger() {
        #expect(Keymap.hints(canControl: true, glyphs: .unicode).contains { $0.keys == "t" })
        #expect(!Keymap.hints(canControl: false, glyphs: .unicode).contains { $0.keys == "t" })
    }

    @Test func test_aKeyOutsideTheKeymapDoesNothing() {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.render(model: Fixtures.eight, now: 0, size: Size(width: 120, height: 40))
        #expect(Keymap.command(for: .char("z")) == nil)
        #expect(dashboard.handle(.key(.char("z")), model: Fixtures.eight, now: 0) == .none)
    }
}
