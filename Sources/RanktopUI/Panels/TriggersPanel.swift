import RanktopModel

/// Every trigger set (rank, code or manual, reason), every firing (check #, step) and each pending
/// injection until a rank applies it.
enum TriggersPanel {
    static func title(focused: Bool, context: RenderContext) -> StyledLine {
        var title = PanelFrame.title(.triggers, focused: focused, context: context)
        let model = context.model
        let fired = model.firings.count + model.firingsFolded
        title.add(" fired \(fired)", context.style(fired > 0 ? .trigger : .dim))
        let pending = model.pendingInjections.count
        if pending > 0 { title.add(context.glyphs.separator + "pending \(pending)", context.style(.triggerPending)) }
        return title
    }

    static func lines(context: RenderContext) -> [StyledLine] {
        let model = context.model
        let dim = context.style(.dim)
        var lines: [StyledLine] = []
        for injection in model.pendingInjections.reversed() {
            var line = StyledLine("pending \(injection.id)", context.style(.triggerPending))
            if let reason = injection.reason { line.add(" \"\(reason)\"", context.style(.text)) }
            if let by = injection.by { line.add(" by " + by, dim) }
            line.add("  " + Format.duration(context.now - injection.ts) + " ago; applies at the next check", dim)
            lines.append(line)
        }
        for (check, causes) in model.pendingCauses.sorted(by: { $0.key > $1.key }) {
            for cause in grouped(causes).prefix(4) {
                var line = StyledLine("set ", context.style(.triggerPending))
                line.spans += describe(cause, context: context).spans
                line.add("  fires at check #\(check)", dim)
                lines.append(line)
            }
        }
        for firing in model.firings.reversed().prefix(16) {
            var line = StyledLine("fired check #\(firing.check)", context.style(.trigger))
            if let step = firing.step { line.add(" step \(step)", context.style(.text)) }
            line.add("  \(firing.ranksFired)/\(context.digest.world) ranks", firing.ranksFired >= context.digest.world ? dim : context.style(.warning))
            line.add("  " + Format.duration(context.now - firing.ts) + " ago", dim)
            lines.append(line)
            let causes = grouped(firing.causes)
            for cause in causes.prefix(4) {
                var why = StyledLine("  ", dim)
                why.spans += describe(cause, context: context).spans
                lines.append(why)
            }
            if causes.count > 4 { lines.append(StyledLine("  +\(causes.count - 4) more sets", dim)) }
        }
        if model.firingsFolded > 0 { lines.append(StyledLine("+\(model.firingsFolded) older firings", dim)) }
        if lines.isEmpty {
            lines.append(StyledLine("no trigger set yet" + (context.options.canControl ? "; t stops the run cleanly" : ""), dim))
        }
        return lines
    }

    /// A trigger set, or one injection applied by several ranks.
    struct Cause {
        var cause: TriggerCause
        var ranks: [Int]
    }

    /// Every rank applies a manual injection itself, so one injection arrives as a set per rank:
    /// they are one cause. Code sets stay one per rank.
    static func grouped(_ causes: [TriggerCause]) -> [Cause] {
        var result: [Cause] = []
        for cause in causes {
            if cause.source == .manual, let id = cause.id, let i = result.firstIndex(where: { $0.cause.source == .manual && $0.cause.id == id }) {
                if let rank = cause.rank { result[i].ranks.append(rank) }
            } else {
                result.append(Cause(cause: cause, ranks: cause.rank.map { [$0] } ?? []))
            }
        }
        return result
    }

    /// `manual inj-3 "stop" by bob@host (ranks 0-3)` or `code rank 2 "loss plateau"`.
    static func describe(_ group: Cause, context: RenderContext) -> StyledLine {
        let cause = group.cause
        var line = StyledLine(cause.source.rawValue, context.style(.trigger))
        if cause.source == .manual, let id = cause.id {
            line.add(" " + id, context.style(.text))
            if let reason = cause.reason { line.add(" \"\(reason)\"", context.style(.text)) }
            if let by = context.model.injections.first(where: { $0.id == id })?.by { line.add(" by " + by, context.style(.dim)) }
            if !group.ranks.isEmpty {
                let ranks = group.ranks.sorted()
                line.add(" (rank\(ranks.count == 1 ? "" : "s") \(RankRanges.text(ranks)))", context.style(.dim))
            }
        } else {
            if let rank = cause.rank { line.add(" rank \(rank)", context.style(.text)) }
            if let reason = cause.reason { line.add(" \"\(reason)\"", context.style(.text)) }
        }
        return line
    }
}
