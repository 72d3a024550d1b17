import RanktopModel

/// The collective half of the waits panel: the stall banner, op mismatches and open collectives.
extension BarriersPanel {
    static func stallLine(_ stall: RunStall, context: RenderContext) -> StyledLine {
        var text = "\(context.glyphs.warning) RUN STALLED \(Format.duration(context.now - stall.since))"
        if let step = stall.step { text += " at step \(step)" }
        text += ": no rank is progressing"
        return StyledLine(text, context.style(.error).overlaid(by: Style(.bold)))
    }

    static func collectiveMismatchLines(context: RenderContext) -> [StyledLine] {
        context.model.collectiveMismatches.sorted { $0.key > $1.key }.prefix(3).map { key, ops in
            let parts = ops.sorted { $0.value.first ?? 0 < $1.value.first ?? 0 }
                .map { "\($0.key) (\(RankRanges.text($0.value)))" }
            let group = key.group == "world" ? "" : " [\(key.group)]"
            return StyledLine("\(context.glyphs.warning) MISMATCH collective #\(key.n)\(group): " + parts.joined(separator: " vs "), context.style(.mismatch))
        }
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
