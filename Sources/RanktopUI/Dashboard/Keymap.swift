/// What a key asks of the dashboard when no dialog has it.
enum KeyCommand: Sendable, Equatable {
    case quit, help, nextPanel, previousPanel
    case moveUp, moveDown, moveLeft, moveRight, pageUp, pageDown, first, last
    case open, requestStack, stacks, filter, back, sort, toggleGrid, pause, trigger
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
        Entry(keys: "q", help: "quit (asks first when ranktop started the run)", bindings: [(.quit, [.char("q")])],
              hint: Hint(keys: .text("q"), label: "quit")),
        Entry(keys: "?", help: "this help", bindings: [(.help, [.char("?")])], hint: Hint(keys: .text("?"), label: "help")),
        Entry(keys: "Tab, S-Tab", help: "next, previous panel", bindings: [(.nextPanel, [.tab]), (.previousPanel, [.backTab])],
              hint: Hint(keys: .text("Tab"), label: "panel")),
        Entry(keys: "Up Down j k", help: "move the selection, scroll a panel",
              bindings: [(.moveUp, [.up, .char("k")]), (.moveDown, [.down, .char("j")])], hint: Hint(keys: .upDown, label: "move")),
        Entry(keys: "Left Right h l", help: "move in the rank grid", bindings: [(.moveLeft, [.left, .char("h")]), (.moveRight, [.right, .char("l")])]),
        Entry(keys: "PgUp PgDn", help: "a page; Home End: first, last",
              bindings: [(.pageUp, [.pageUp]), (.pageDown, [.pageDown]), (.first, [.home]), (.last, [.end])]),
        Entry(keys: "Enter", help: "detail of the selected rank (Esc back)", bindings: [(.open, [.enter])],
              hint: Hint(keys: .text("Enter"), label: "detail")),
        // One line for both stack keys: the help box must fit 24 rows.
        Entry(keys: "d, S", help: "d: the detail's rank's stack; S: all ranks', grouped",
              bindings: [(.requestStack, [.char("d")]), (.stacks, [.char("S")])], hint: Hint(keys: .text("S"), label: "stacks")),
        Entry(keys: "/", help: "filter ranks (waiting, stale, node, 0-7) or events", bindings: [(.filter, [.char("/")])],
              hint: Hint(keys: .text("/"), label: "filter")),
        Entry(keys: "Esc", help: "clear the filter, close a dialog", bindings: [(.back, [.escape])]),
        Entry(keys: "s", help: "sort ranks: rank, lag, wait, state", bindings: [(.sort, [.char("s")])], hint: Hint(keys: .text("s"), label: "sort")),
        Entry(keys: "g", help: "ranks as a table or a grid", bindings: [(.toggleGrid, [.char("g")])], hint: Hint(keys: .text("g"), label: "grid")),
        Entry(keys: "p", help: "pause the display (the run goes on)", bindings: [(.pause, [.char("p")])], hint: Hint(keys: .text("p"), label: "pause")),
        Entry(keys: "t", help: "stop the run cleanly: inject a trigger", bindings: [(.trigger, [.char("t")])],
              hint: Hint(keys: .text("t"), label: "stop run", needsControl: true)),
        Entry(keys: "mouse", help: "click selects, double-click opens, wheel scrolls", bindings: []),
    ]

    /// The footer's hints, most useful first (the footer drops what does not fit from the end),
    /// named by a command of their entry.
    static let footerOrder: [KeyCommand] = [.quit, .help, .trigger, .nextPanel, .open, .stacks, .filter, .sort, .pause, .moveDown, .toggleGrid]

    static func command(for key: Key) -> KeyCommand? {
        for entry in entries {
            for binding in entry.bindings where binding.keys.contains(key) { return binding.command }
        }
        return nil
    }

    static func entry(for command: KeyCommand) -> Entry? {
        entries.first { $0.bindings.contains { $0.command == command } }
    }

    /// The footer's hints for this screen: keys as drawn, and what they do.
    static func hints(canControl: Bool, glyphs: Glyphs) -> [(keys: String, label: String)] {
        footerOrder.compactMap { command in
            guard let hint = entry(for: command)?.hint, canControl || !hint.needsControl else { return nil }
            switch hint.keys {
            case let .text(keys): return (keys, hint.label)
            case .upDown: return (glyphs.arrowUp + glyphs.arrowDown, hint.label)
            }
        }
    }
}
