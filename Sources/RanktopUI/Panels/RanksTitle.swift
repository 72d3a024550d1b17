/// The ranks panel's title: count, sort, filter.
enum RanksTitle {
    static func make(
        shown: Int, world: Int, sort: RankSort, reversed: Bool = false, filter: RankFilter, focused: Bool, context: RenderContext
    ) -> StyledLine {
        var title = PanelFrame.title(.ranks, focused: focused, context: context)
        let dim = context.style(.dim)
        title.add(" \(world)", context.style(.text))
        title.add(context.glyphs.separator + "sort ", dim)
        title.add(sort.rawValue + (reversed ? " reversed" : ""), context.style(.text))
        if !filter.isEmpty {
            title.add(context.glyphs.separator + "filter ", dim)
            title.add(filter.text, context.style(.warning))
            title.add(" (\(shown) of \(world))", dim)
        }
        return title
    }
}
