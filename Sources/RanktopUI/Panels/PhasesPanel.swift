import RanktopModel

/// Main-first phases, newest first: the main part and the others' part, and who is in which part
/// now.
enum PhasesPanel {
    static func title(focused: Bool, context: RenderContext) -> StyledLine {
        var title = PanelFrame.title(.phases, focused: focused, context: context)
        let open = context.model.phases.filter { !$0.isComplete }.count
        title.add(" \(open) open", context.style(open > 0 ? .phase : .dim))
        title.add(context.glyphs.separator + "\(context.model.phases.count + context.model.phasesFolded) seen", context.style(.dim))
        return title
    }

    struct PhaseKey: Hashable {
        var name: String
        var occurrence: Int
    }

    static func lines(context: RenderContext) -> [StyledLine] {
        let model = context.model
        guard !model.phases.isEmpty else { return [StyledLine("no main-first phase yet", context.style(.dim))] }
        // Who is in which part of each open phase, from the ranks' own state.
        var parts: [PhaseKey: [PhasePart: [Int]]] = [:]
        let slots = model.rankSlots
        for r in slots.indices {
            guard let phase = slots[r]?.phase else { continue }
            parts[PhaseKey(name: phase.name, occurrence: phase.occurrence), default: [:]][phase.part, default: []].append(r)
        }
        let dim = context.style(.dim)
        var lines: [StyledLine] = []
        for phase in model.phases.reversed().prefix(32) {
            var head = StyledLine(phase.name, context.style(phase.isComplete ? .text : .phaseMain))
            if phase.occurrence > 0 { head.add(" #\(phase.occurrence + 1)", dim) }
            head.add(" " + (phase.mode == .mainFirst ? "main_first" : "local_main_first"), dim)
            if phase.isComplete {
                head.add("  done", dim)
            } else {
                head.add("  open " + Format.duration(context.now - phase.firstEnter), context.style(.phase))
            }
            head.add("  main ", dim)
            head.add(phase.mainSeconds.map(Format.duration) ?? "-", context.style(.text))
            head.add("  others ", dim)
            head.add(phase.othersSeconds.map(Format.duration) ?? "-", context.style(.text))
            lines.append(head)
            guard !phase.isComplete, let now = parts[PhaseKey(name: phase.name, occurrence: phase.occurrence)] else { continue }
            var who = StyledLine("  ", dim)
            for part in [PhasePart.main, .mainDone, .waitingForMain, .others] {
                guard let ranks = now[part] else { continue }
                if who.spans.count > 1 { who.add(context.glyphs.separator, dim) }
                who.add(RankText.partLabel(part) + ": ", dim)
                who.add(RankRanges.text(ranks.sorted()), context.style(part == .main || part == .mainDone ? .phaseMain : .phase))
            }
            if phase.exitedCount > 0 {
                who.add(context.glyphs.separator + "left: \(phase.exitedCount)", dim)
            }
            lines.append(who)
        }
        return lines
    }
}
