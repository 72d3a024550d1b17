/// What a key asks of the dashboard when no dialog has it.
enum KeyCommand: Sendable, Equatable {
    case quit, help, nextPanel, previousPanel
    case moveUp, moveDown, moveLeft, moveRight, pageUp, pageDown, first, last
    case open, requestStack, stacks, filter, back, sort, reverseSort, toggleGrid, pause, trigger, routineEvents, charts
    /// A replay's own: its position and pace.
    case replay(ReplayCommand)
}

/// What a replay key asks of the replayed log's position.
public enum ReplayCommand: Sendable, Equatable {
    case playPause, faster, slower
    case stepForward, stepBack
    case seek(seconds: Double)
    case start, end
    case nextMoment, previousMoment
}

/// The one table of the dashboard's keys: `handle` dispatches through it, the help box lists it
/// and the footer's hints come from it, so a key cannot be bound in one and forgotten in another.
enum Keymap {
    /// A line of the help box: the keys as the help writes them, what they do, the keys that
    /// do it, and the footer's hint for it (some lines share one hint, some have none).
    struct Entry: Sendable {
        var keys: String
        var help: String
        var bindings: [(command: KeyCommand, keys: [Key])]
        var hint: Hint?
        /// Where the keys mean this: a replay takes the arrows, the page keys, g and p to move
        /// in the log.
        var modes: Modes = .both
    }

    enum Modes: Sendable {
        case both, live, replay

        func includes(replay: Bool) -> Bool {
            switch self {
            case .both: true
            case .live: !replay
            case .replay: replay
            }
        }
    }

    struct Hint: Sendable {
        var keys: HintKeys
        var label: String
        /// Shown only where triggers and stacks reach the run.
        var needsControl = false
    }

    enum HintKeys: Sendable {
        case text(String)
        /// The up and down arrows, in the screen's glyphs.
        case upDown
    }

    static let entries: [Entry] = [
        Entry(keys: "q F10", help: "quit (asks first when ranktop started the run)", bindings: [(.quit, [.char("q"), .function(10)])],
              hint: Hint(keys: .text("q"), label: "quit")),
        Entry(keys: "? F1", help: "this help", bindings: [(.help, [.char("?"), .function(1)])], hint: Hint(keys: .text("?"), label: "help")),
        Entry(keys: "Space p + -", help: "play, pause; the speed, x0.25 to x1000, max",
              bindings: [(.replay(.playPause), [.char(" "), .char("p")]), (.replay(.faster), [.char("+"), .char("=")]), (.replay(.slower), [.char("-")])],
              hint: Hint(keys: .text("Space"), label: "play"), modes: .replay),
        Entry(keys: "Left Right , .", help: "10 s back, forward; one event back, forward",
              bindings: [(.replay(.seek(seconds: -10)), [.left]), (.replay(.seek(seconds: 10)), [.right]),
                         (.replay(.stepBack), [.char(",")]), (.replay(.stepForward), [.char(".")])],
              hint: Hint(keys: .text("\u{2190}\u{2192}"), label: "seek"), modes: .replay),
        Entry(keys: "PgUp PgDn g G", help: "a minute back, forward; the start, the end",
              bindings: [(.replay(.seek(seconds: -60)), [.pageUp]), (.replay(.seek(seconds: 60)), [.pageDown]),
                         (.replay(.start), [.char("g")]), (.replay(.end), [.char("G")])], modes: .replay),
        Entry(keys: "n N", help: "next, previous notable moment (timeline marks)",
              bindings: [(.replay(.nextMoment), [.char("n")]), (.replay(.previousMoment), [.char("N")])],
              hint: Hint(keys: .text("n"), label: "next problem"), modes: .replay),
        Entry(keys: "Tab, S-Tab", help: "next, previous panel", bindings: [(.nextPanel, [.tab]), (.previousPanel, [.backTab])],
              hint: Hint(keys: .text("Tab"), label: "panel")),
        Entry(keys: "Up Down j k", help: "move the selection, scroll a panel",
              bindings: [(.moveUp, [.up, .char("k")]), (.moveDown, [.down, .char("j")])], hint: Hint(keys: .upDown, label: "move"), modes: .live),
        // A replay's help must fit 24 rows too: its moves share one line.
        Entry(keys: "Up Down j k h l", help: "move, scroll; h l in the grid; Home End: first, last",
              bindings: [(.moveUp, [.up, .char("k")]), (.moveDown, [.down, .char("j")]), (.moveLeft, [.char("h")]), (.moveRight, [.char("l")]),
                         (.first, [.home]), (.last, [.end])],
              hint: Hint(keys: .upDown, label: "move"), modes: .replay),
        Entry(keys: "Left Right h l", help: "move in the rank grid", bindings: [(.moveLeft, [.left, .char("h")]), (.moveRight, [.right, .char("l")])],
              modes: .live),
        Entry(keys: "PgUp PgDn", help: "a page; Home End: first, last",
              bindings: [(.pageUp, [.pageUp]), (.pageDown, [.pageDown]), (.first, [.home]), (.last, [.end])], modes: .live),
        Entry(keys: "Enter c", help: "the selected rank's detail; c: charts of the run",
              bindings: [(.open, [.enter]), (.charts, [.char("c")])], hint: Hint(keys: .text("Enter"), label: "detail")),
        // One line for both stack keys: the help box must fit 24 rows.
        Entry(keys: "d, S", help: "d: the detail's rank's stack; S: all ranks', grouped",
              bindings: [(.requestStack, [.char("d")]), (.stacks, [.char("S")])], hint: Hint(keys: .text("S"), label: "stacks")),
        Entry(keys: "/ r", help: "filter ranks or events; r hides routine events",
              bindings: [(.filter, [.char("/")]), (.routineEvents, [.char("r")])],
              hint: Hint(keys: .text("/"), label: "filter")),
        Entry(keys: "Esc", help: "clear the filter, close a dialog", bindings: [(.back, [.escape])]),
        Entry(keys: "s I", help: "sort ranks: rank, lag, wait, state, slow; I reverses",
              bindings: [(.sort, [.char("s")]), (.reverseSort, [.char("I")])], hint: Hint(keys: .text("s"), label: "sort")),
        Entry(keys: "g", help: "ranks as a table or a grid", bindings: [(.toggleGrid, [.char("g")])], hint: Hint(keys: .text("g"), label: "grid"),
              modes: .live),
        Entry(keys: "v", help: "ranks as a table or a grid", bindings: [(.toggleGrid, [.char("v")])], hint: Hint(keys: .text("v"), label: "grid"),
              modes: .replay),
        Entry(keys: "p", help: "pause the display (the run goes on)", bindings: [(.pause, [.char("p")])], hint: Hint(keys: .text("p"), label: "pause"),
              modes: .live),
        // Not in a replay: a trigger cannot reach a run that is over.
        Entry(keys: "t", help: "stop the run cleanly: inject a trigger", bindings: [(.trigger, [.char("t")])],
              hint: Hint(keys: .text("t"), label: "stop run", needsControl: true), modes: .live),
        Entry(keys: "mouse", help: "click selects, double-click opens, wheel scrolls", bindings: []),
    ]

    /// The entries that hold live, or in a replay.
    static func entries(replay: Bool) -> [Entry] {
        entries.filter { $0.modes.includes(replay: replay) }
    }

    /// The footer's hints, most useful first (the footer drops what does not fit from the end),
    /// named by a command of their entry.
    static let footerOrder: [KeyCommand] = [.quit, .help, .trigger, .nextPanel, .open, .stacks, .filter, .sort, .pause, .moveDown, .toggleGrid]
    static let replayFooterOrder: [KeyCommand] = [
        .quit, .help, .replay(.playPause), .replay(.nextMoment), .replay(.seek(seconds: 10)), .nextPanel, .open, .stacks, .filter, .sort,
        .moveDown, .toggleGrid,
    ]

    static func command(for key: Key, replay: Bool = false) -> KeyCommand? {
        for entry in entries where entry.modes.includes(replay: replay) {
            for binding in entry.bindings where binding.keys.contains(key) { return binding.command }
        }
        return nil
    }

    static func entry(for command: KeyCommand, replay: Bool = false) -> Entry? {
        entries.first { $0.modes.includes(replay: replay) && $0.bindings.contains { $0.command == command } }
    }

    /// The footer's hints for this screen: keys as drawn, and what they do.
    static func hints(canControl: Bool, replay: Bool = false, glyphs: Glyphs) -> [(keys: String, label: String)] {
        (replay ? replayFooterOrder : footerOrder).compactMap { command in
            guard let hint = entry(for: command, replay: replay)?.hint, canControl || !hint.needsControl else { return nil }
            switch hint.keys {
            case let .text(keys): return (glyphs == .ascii ? keys.replacingArrows : keys, hint.label)
            case .upDown: return (glyphs.arrowUp + glyphs.arrowDown, hint.label)
            }
        }
    }
}

extension String {
    /// The left and right arrows of a hint, for a screen without Unicode.
    fileprivate var replacingArrows: String {
        var out = ""
        for ch in self {
            switch ch {
            case "\u{2190}": out += "<"
            case "\u{2192}": out += ">"
            default: out.append(ch)
            }
        }
        return out
    }
}
