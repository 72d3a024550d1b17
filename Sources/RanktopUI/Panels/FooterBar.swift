/// The bottom line: the `/` prompt while filtering, else a status message, else key hints.
enum FooterBar {
    /// Only what applies now: once the run is over there is nothing to stop, and "q quits"
    /// is said before the hints.
    static func hints(context: RenderContext, over: Bool = false) -> [(keys: String, label: String)] {
        let all = Keymap.hints(canControl: context.options.canControl && !over, replay: context.options.replay, glyphs: context.glyphs)
        return over ? all.filter { $0.label != "quit" } : all
    }

    /// `ended`: what the header says once the source ended (the footer then says how to leave).
    static func draw(into canvas: inout Canvas, rect: Rect, overlay: Overlay?, status: StatusMessage?, ended: String?, context: RenderContext) {
        let footer = context.style(.footer)
        let key = context.style(.footerKey)
        canvas.fill(rect, style: footer)
        var line = StyledLine(" ", footer)
        if case let .filter(panel, field, _) = overlay {
            line.add("/ ", key)
            line.add(panel == .events ? "filter events: " : "filter ranks (state, node, 0-7): ", footer)
            line.add(field.text, context.style(.input))
            line.add(" ", context.style(.input).overlaid(by: Style(.reverse)))
            line.add("  Enter keep", footer)
            line.add(context.glyphs.separator + "Esc cancel", footer)
            line.draw(into: &canvas, x: rect.x, y: rect.y, width: rect.width, ellipsis: context.glyphs.ellipsis)
            return
        }
        if let status {
            line.add(status.text, status.isError ? footer.overlaid(by: context.theme.raw(.error)) : key)
            line.add("   ", footer)
        } else if let ended {
            line.add(ended + ": q quits", key)
            line.add("   ", footer)
        }
        for (i, (name, action)) in hints(context: context, over: ended != nil).enumerated() {
            let piece = (i == 0 ? "" : "  ") + name + " " + action
            if line.width + TextWidth.columns(of: piece) > rect.width { break }
            if i > 0 { line.add("  ", footer) }
            line.add(name, key)
            line.add(" " + action, footer)
        }
        line.draw(into: &canvas, x: rect.x, y: rect.y, width: rect.width, ellipsis: context.glyphs.ellipsis)
    }
}
