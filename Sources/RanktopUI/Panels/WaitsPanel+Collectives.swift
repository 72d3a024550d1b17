import RanktopModel

/// The collective half of the waits panel: the stall banner, op mismatches and open collectives.
extension BarriersPanel {
    static func stallLine(_ stall: RunStall, context: RenderContext) -> StyledLine {
        var text = "\(context.glyphs.warning) RUN STALLED \(Format.duration(context.now - stall.since))"
        if let step = stall.step { text += " at step \(step)" }
        text += ": no rank is progressing"
        return StyledLine(text, context.style(.error).overlaid(by: Style(.bold)))
    }

    static func collectiveMismatchLines(width: Int, context: RenderContext) -> [StyledLine] {
        context.model.collectiveMismatches.sorted { $0.key > $1.key }.prefix(3).flatMap { key, ops in
            let parts = ops.sorted { $0.value.first ?? 0 < $1.value.first ?? 0 }
                .map { "\($0.key) (\(RankRanges.text($0.value)))" }
            let group = key.group == "world" ? "" : " [\(key.group)]"
            return mismatchLines("\(context.glyphs.warning) MISMATCH collective #\(key.n)\(group): ", parts, width: width, context: context)
        }
    }

    /// `⚠ MISMATCH #2: 'eval' (0-3) vs 'evaluate' (4-7)` on one line where it fits, else one
    /// line per side, so that no side is cut.
    static func mismatchLines(_ head: String, _ parts: [String], width: Int, context: RenderContext) -> [StyledLine] {
        let style = context.style(.mismatch)
        let whole = head + parts.joined(separator: " vs ")
        guard whole.count > width, let first = parts.first else { return [StyledLine(whole, style)] }
        return [StyledLine(head + first, style)] + parts.dropFirst().map { StyledLine("    vs " + $0, style) }
    }

    static func openCollective(_ collective: OpenCollective, width: Int, context: RenderContext) -> [StyledLine] {
        let dim = context.style(.dim)
        var head = StyledLine("\(collective.op) #\(collective.n)", context.style(.barrier).overlaid(by: Style(.bold)))
        if let label = collective.label { head.add(" " + label, context.style(.barrier)) }
        if collective.group != "world" { head.add(" [\(collective.group)]", dim) }
        let members = context.model.collectiveGroups[collective.group]?.memberCount(world: context.digest.world)
        head.add("  \(collective.arrived.count)/\(members.map(String.init) ?? "?") arrived", context.style(.text))
        var lines = headAndTiming(head, since: collective.since, site: collective.site, width: width, context: context)
        if let missing = collective.missing {
            if missing.isEmpty {
                lines.append(StyledLine("  everyone arrived; waiting for it to complete", dim))
            } else {
                lines += missingLines(missing, width: width, context: context)
            }
        } else if collective.missingCount > 0 {
            lines.append(StyledLine("  missing \(collective.missingCount) (the group's ranks are not known)", context.style(.barrierMissing)))
        }
        return lines
    }
}
