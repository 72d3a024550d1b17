import RanktopUI
import Testing

@Suite struct ColorDegraderTests {
    @Test func test_truecolorTerminal_getsTheExactColour() {
        #expect(ColorDegrader.terminalColor(.rgb(0x12, 0x34, 0x56), depth: .direct) == 0x123456)
        #expect(ColorDegrader.terminalColor(.indexed(196), depth: .direct) == 0xff0000)
    }

    @Test func test_256Colours_nearestOfTheCubeAndGreys() {
        #expect(ColorDegrader.terminalColor(.rgb(255, 0, 0), depth: .palette256) == 196)
        #expect(ColorDegrader.terminalColor(.rgb(0x5f, 0xd7, 0x5f), depth: .palette256) == 77)
        #expect(ColorDegrader.terminalColor(.rgb(0x80, 0x80, 0x80), depth: .palette256) == 244)
        #expect(ColorDegrader.terminalColor(.indexed(3), depth: .palette256) == 3)
    }

    @Test func test_16And8Colours_nearestANSI() {
        #expect(ColorDegrader.terminalColor(.rgb(255, 0, 0), depth: .ansi16) == 9)
        #expect(ColorDegrader.terminalColor(.rgb(200, 0, 0), depth: .ansi8) == 1)
        #expect(ColorDegrader.terminalColor(.rgb(0x5f, 0xd7, 0x5f), depth: .ansi8) == 2)
        #expect(ColorDegrader.terminalColor(.indexed(9), depth: .ansi8) == 1)
        #expect(ColorDegrader.terminalColor(.indexed(226), depth: .ansi8) == 3)
    }

    @Test func test_greysStayGrey_andEightColoursDimWhiteForMidGrey() {
        #expect(ColorDegrader.terminalColor(.rgb(0x8a, 0x8a, 0x8a), depth: .ansi16) == 8)
        #expect(ColorDegrader.terminalColor(.rgb(0xe4, 0xe4, 0xe4), depth: .ansi16) == 7)
        #expect(ColorDegrader.foreground(.rgb(0x8a, 0x8a, 0x8a), depth: .ansi8) == (7, .dim))
        #expect(ColorDegrader.foreground(.rgb(0xe4, 0xe4, 0xe4), depth: .ansi8) == (7, []))
        #expect(ColorDegrader.foreground(.rgb(0x10, 0x10, 0x10), depth: .ansi8) == (0, []))
        #expect(ColorDegrader.foreground(.rgb(0x8a, 0x8a, 0x8a), depth: .palette256) == (245, []))
        #expect(ColorDegrader.foreground(.rgb(255, 0, 0), depth: .ansi8) == (1, []))
    }

    @Test func test_defaultAndMonochrome_leaveTheTerminalsOwnColours() {
        #expect(ColorDegrader.terminalColor(.terminalDefault, depth: .direct) == -1)
        #expect(ColorDegrader.terminalColor(.rgb(1, 2, 3), depth: .monochrome) == -1)
    }

    @Test func test_depthFromNcursesColorCount() {
        #expect(ColorDepth(colors: 0) == .monochrome)
        #expect(ColorDepth(colors: 8) == .ansi8)
        #expect(ColorDepth(colors: 16) == .ansi16)
        #expect(ColorDepth(colors: 256) == .palette256)
        #expect(ColorDepth(colors: 16_777_216) == .direct)
    }
}
