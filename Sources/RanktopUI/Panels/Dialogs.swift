import RanktopModel
/// The boxes drawn over the dashboard: help, the early-stop dialog, the quit question.
enum Dialogs {
    /// A centred box of `lines`, `width` columns wide at most; returns its inside.
    @discardableResult
    static func box(_ lines: [StyledLine], title: String, width: Int, into canvas: inout Canvas, context: RenderContext) -> Rect {
        let w = min(width, canvas.width - 4)
        let h = min(lines.count + 2, canvas.height - 2)
        let rect = Rect(x: (canvas.width - w) / 2, y: max(1, (canvas.height - h) / 2), width: w, height: h)
        let dialog = context.style(.dialog)
        let border = context.style(.dialogBorder)
        canvas.fill(rect, style: dialog)
        let g = context.glyphs
        PanelFrame.drawBorder(into: &canvas, rect: rect, style: border, glyphs: g)
        canvas.put(" \(title) ", x: rect.x + 2, y: rect.y, style: border, limit: rect.maxX - 1)
        let inner = Rect(x: rect.x + 2, y: rect.y + 1, width: rect.width - 4, height: rect.height - 2)
        for (i, line) in lines.prefix(inner.height).enumerated() {
            // Lines are laid on the dialog background: their own backgrounds would make holes.
            var onDialog = line
            onDialog.spans = line.spans.map { ($0.text, Style(fg: $0.style.fg == context.style(.text).fg ? dialog.fg : $0.style.fg, bg: $0.style.bg == context.style(.text).bg ? dialog.bg : $0.style.bg, $0.style.attributes), $0.path) }
            onDialog.draw(into: &canvas, x: inner.x, y: inner.y + i, width: inner.width, ellipsis: g.ellipsis)
        }
        return inner
    }

    /// Words of `text` in lines of at most `width` columns.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if current.isEmpty {
                current = String(word)
            } else if TextWidth.columns(of: current) + 1 + TextWidth.columns(of: String(word)) <= width {
                current += " " + word
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    static func help(into canvas: inout Canvas, context: RenderContext) {
        let key = context.style(.footerKey).overlaid(by: Style(.bold))
        var lines: [StyledLine] = Keymap.entries(replay: context.options.replay).map { entry in
            var line = StyledLine(Format.left(entry.keys, 16), Style(fg: key.fg, .bold))
            line.add(entry.help, context.style(.text))
            return line
        }
        lines.append(StyledLine())
        // Two lines: nine states do not fit one line of the box.
        let conditions = RankCondition.allCases
        for half in [conditions.prefix(4), conditions.dropFirst(4)] {
            var states = StyledLine()
            for condition in half {
                states.add(String(condition.gridGlyph(context.glyphs)) + " " + condition.label + " ", context.style(condition.role))
            }
            lines.append(states)
        }
        lines.append(StyledLine("stale: nothing heard for \(Format.duration(context.options.staleAfter)); silent: never heard from", context.style(.dim)))
        lines.append(StyledLine("any key closes this help", context.style(.dim)))
        box(lines, title: "ranktop keys", width: 72, into: &canvas, context: context)
    }

    static func trigger(_ field: TextField, into canvas: inout Canvas, context: RenderContext) {
        let width = 66
        let text = context.style(.text)
        var lines: [StyledLine] = []
        let over = Dashboard.isOver(context.model)
        guard context.options.canControl, !over else {
            let why = over
                ? "The run has ended: every rank has exited, failed or been lost, so there is nothing to stop."
                : "This view cannot stop the run: \(context.options.label) is a replayed log, not a live run."
            for line in wrap(why, width: width - 4) {
                lines.append(StyledLine(line, text))
            }
            lines.append(StyledLine())
            lines.append(StyledLine("Esc closes", context.style(.dim)))
            box(lines, title: "Stop the run", width: width, into: &canvas, context: context)
            return
        }
        let run = context.model.run ?? "this run"
        let intro = "Inject a trigger into run \(run) (\(context.digest.world) ranks, \(context.options.label)). "
            + "Every rank raises its trigger at its next check_trigger; the check fires on all ranks at once and the run stops there, cleanly."
        for line in wrap(intro, width: width - 4) { lines.append(StyledLine(line, text)) }
        lines.append(StyledLine())
        var reason = StyledLine("Reason (optional): ", context.style(.title))
        let fieldWidth = width - 4 - 19
        let shown = String(field.text.suffix(fieldWidth - 1))
        reason.add(Format.left(shown, fieldWidth - 1), context.style(.input))
        reason.add(" ", context.style(.input).overlaid(by: Style(.reverse)))
        lines.append(reason)
        lines.append(StyledLine())
        var keys = StyledLine("Enter", context.style(.footerKey))
        keys.add(" sends the trigger   ", text)
        keys.add("Esc", context.style(.footerKey))
        keys.add(" cancels", text)
        lines.append(keys)
        box(lines, title: "Stop the run?", width: width, into: &canvas, context: context)
    }

    static func confirmQuit(into canvas: inout Canvas, context: RenderContext) {
        var lines: [StyledLine] = []
        for line in wrap("ranktop started this run: quitting the dashboard ends it. To stop it cleanly at the next check instead, press t.", width: 52) {
            lines.append(StyledLine(line, context.style(.text)))
        }
        lines.append(StyledLine())
        var keys = StyledLine("y", context.style(.footerKey))
        keys.add(" quit and end the run   ", context.style(.text))
        keys.add("n, Esc", context.style(.footerKey))
        keys.add(" stay", context.style(.text))
        lines.append(keys)
        box(lines, title: "Quit?", width: 58, into: &canvas, context: context)
    }

    /// The whole screen when it is below the minimum size.
    static func tooSmall(into canvas: inout Canvas, context: RenderContext) {
        let message = "terminal too small: \(canvas.width)x\(canvas.height), ranktop needs \(DashboardLayout.minimumSize.width)x\(DashboardLayout.minimumSize.height) (q quits)"
        let lines = wrap(message, width: max(10, canvas.width))
        let top = max(0, (canvas.height - lines.count) / 2)
        for (i, line) in lines.enumerated() {
            canvas.put(line, x: max(0, (canvas.width - TextWidth.columns(of: line)) / 2), y: top + i, style: context.style(.warning))
        }
    }
}
