import RanktopModel
import RanktopProtocol

/// The recent events of the run, newest at the bottom, filterable with `/`.
enum EventsPanel {
    static func title(shown: Int, filter: String, focused: Bool, context: RenderContext) -> StyledLine {
        var title = PanelFrame.title(.events, focused: focused, context: context)
        title.add(" \(shown)", context.style(.dim))
        if !filter.isEmpty {
            title.add(context.glyphs.separator + "filter ", context.style(.dim))
            title.add(filter, context.style(.warning))
        }
        return title
    }

    /// The kept events matching `filter` (case-insensitive, anywhere in the line), oldest first.
    /// Heartbeats only say a rank is alive (the AGE column shows that), so they are left out
    /// unless the filter asks for them.
    static func events(context: RenderContext, filter: String) -> [Event] {
        let needle = filter.lowercased()
        let wantsHeartbeats = !needle.isEmpty && "heartbeat".contains(needle)
        return context.model.recentEvents.filter { event in
            if event.kind == .heartbeat, !wantsHeartbeats { return false }
            return needle.isEmpty || line(for: event, context: context).lowercased().contains(needle)
        }
    }

    static func line(for event: Event, context: RenderContext) -> String {
        Format.timeOfDay(event.ts, offset: context.options.utcOffset) + " " + Format.left(EventText.who(event), 5) + " " + event.kind.rawValue + " " + EventText.describe(event)
    }

    static func styledLine(for event: Event, context: RenderContext) -> StyledLine {
        var line = StyledLine(Format.timeOfDay(event.ts, offset: context.options.utcOffset) + " ", context.style(.dim))
        line.add(Format.left(EventText.who(event), 5) + " ", context.style(.text))
        line.add(EventText.describe(event), context.style(EventText.role(event)))
        return line
    }
}
