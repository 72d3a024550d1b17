import RanktopModel
import RanktopProtocol

/// The recent events of the run in time order, newest at the bottom, filterable with `/`; `r`
/// hides the routine ones (progress, trigger checks that did not fire).
enum EventsPanel {
    /// The title counts the run's events (not the few kept for the panel).
    static func title(shown: Int, filter: String, hidingRoutine: Bool, focused: Bool, context: RenderContext) -> StyledLine {
        var title = PanelFrame.title(.events, focused: focused, context: context)
        title.add(" \(context.model.eventCount)", context.style(.dim))
        if hidingRoutine { title.add(context.glyphs.separator + "routine hidden", context.style(.dim)) }
        if !filter.isEmpty {
            title.add(context.glyphs.separator + "filter ", context.style(.dim))
            title.add(filter, context.style(.warning))
            title.add(" (\(shown))", context.style(.dim))
        }
        return title
    }

    /// What a run does every step: worth hiding to see what else happened.
    static func isRoutine(_ event: Event) -> Bool {
        switch event.body {
        case .progress, .heartbeat: true
        case let .triggerCheck(_, fired): !fired
        default: false
        }
    }

    /// The kept events matching `filter` (case-insensitive, anywhere in the line), oldest first.
    /// Heartbeats only say a rank is alive (the AGE column shows that), so they are left out
    /// unless the filter asks for them.
    static func events(context: RenderContext, filter: String, hideRoutine: Bool = false) -> [Event] {
        let needle = filter.lowercased()
        let wantsHeartbeats = !needle.isEmpty && "heartbeat".contains(needle)
        let kept = context.model.recentEvents.filter { event in
            if event.kind == .heartbeat, !wantsHeartbeats { return false }
            if hideRoutine, isRoutine(event), event.kind != .heartbeat { return false }
            return needle.isEmpty || line(for: event, context: context).lowercased().contains(needle)
        }
        // In time order: events arrive rank by rank, in batches, not in the order they happened.
        // Stable, so that events of one instant keep their arrival order.
        return kept.enumerated().sorted { a, b in
            a.element.ts != b.element.ts ? a.element.ts < b.element.ts : a.offset < b.offset
        }.map(\.element)
    }

    static func line(for event: Event, context: RenderContext) -> String {
        Format.timeOfDay(event.ts, offset: context.options.utcOffset) + " " + Format.left(EventText.who(event), 5) + " " + event.kind.rawValue + " " + EventText.describe(event)
    }

    static func styledLine(for event: Event, context: RenderContext) -> StyledLine {
        var line = StyledLine(Format.timeOfDay(event.ts, offset: context.options.utcOffset) + " ", context.style(.dim))
        line.add(Format.left(EventText.who(event), 5) + " ", context.style(.text))
        let role = context.style(EventText.role(event))
        let text = EventText.describe(event)
        // The call site is a path: a cut shortens it from the left and keeps the event's kind.
        if let site = event.site, let range = text.firstRange(of: " at " + site) {
            line.add(String(text[..<range.lowerBound]) + " at ", role)
            line.addPath(site, role)
            line.add(String(text[range.upperBound...]), role)
        } else {
            line.add(text, role)
        }
        return line
    }
}
