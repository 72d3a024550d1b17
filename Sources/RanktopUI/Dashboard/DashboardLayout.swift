/// Where each part of the screen goes for a terminal size. Header on top, the ranks panel (the
/// rows it needs, no more), a dock of panels (barriers, phases, triggers, events) in what is
/// left, a footer line. The dock's panels are laid out to keep them wide, since their lines are
/// cut where they are narrow: four side by side only from 300 columns (or when the dock is too
/// low for two rows), else two by two when the height allows; a dock too low for that stacks
/// or shows one panel per column and lets `Tab` swap them in.
struct DashboardLayout {
    static let minimumSize = Size(width: 80, height: 24)
    static let headerHeight = 2

    var header: Rect
    var ranks: Rect
    var dock: [(PanelID, Rect)]
    var footer: Rect
    /// A replay's timeline, the line above the footer.
    var timeline: Rect?
    /// The dock's columns and the panels each holds (`dockSlots`), as laid out.
    var slots: [[PanelID]] = []

    /// Rows a dock panel needs to be worth two rows of them.
    static let stackedPanelHeight = 12

    /// The dock columns and the panels stacked in each, by the dock's width and height.
    static func dockSlots(width: Int, height: Int = 0) -> [[PanelID]] {
        let twoRows = height >= 2 * stackedPanelHeight
        if width >= 300 || (width >= 160 && !twoRows) { return [[.barriers], [.phases], [.triggers], [.events]] }
        if width >= 120, !twoRows { return [[.barriers], [.triggers, .phases], [.events]] }
        return [[.barriers, .phases], [.triggers, .events]]
    }

    /// What a dock panel's content needs: its widest line and its number of lines, frame
    /// included. `grows`: it always has more to show (the events), and takes spare rows.
    struct PanelNeed {
        var width: Int
        var height: Int
        var grows = false
    }

    /// `ranksWanted` is the height the ranks panel would like (rows plus its frame);
    /// `shownInSlot` picks the panel of a collapsed dock column. With `needs`, the dock's columns
    /// and the panels stacked in each are sized by their content; without, by fixed shares.
    static func compute(
        size: Size, ranksWanted: Int, timeline: Bool = false, needs: [PanelID: PanelNeed] = [:],
        shownInSlot: (Int, [PanelID]) -> PanelID
    ) -> DashboardLayout {
        let full = Rect(x: 0, y: 0, width: size.width, height: size.height)
        let (header, rest) = full.splitTop(headerHeight)
        let bottomRows = timeline ? 2 : 1
        let body = Rect(x: rest.x, y: rest.y, width: rest.width, height: rest.height - bottomRows)
        let footer = Rect(x: 0, y: size.height - 1, width: size.width, height: 1)
        let timelineRect = timeline ? Rect(x: 0, y: size.height - 2, width: size.width, height: 1) : nil
        let dockMinimum = size.height >= 40 ? 12 : 8
        let ranksHeight = min(ranksWanted, body.height - dockMinimum)
        let (ranks, dockArea) = body.splitTop(max(5, ranksHeight))

        var dock: [(PanelID, Rect)] = []
        let slots = dockSlots(width: size.width, height: dockArea.height)
        let columns: [Rect]
        // The barriers column is the one users read first: it gets more room when there are
        // three, and, sized by content, whenever its lines are cut.
        if needs.isEmpty {
            columns = dockArea.columns(weights: slots.map { $0.contains(.barriers) && slots.count == 3 ? 4 : 3 })
        } else {
            let weights = slots.map { $0.contains(.barriers) ? 4 : 3 }
            let wanted = slots.map { stack in stack.map { needs[$0]?.width ?? 0 }.max() ?? 0 }
            // Spare columns go to the events, whose lines are the longest.
            let growing = slots.firstIndex { stack in stack.contains { needs[$0]?.grows == true } }
            columns = dockArea.columns(widths: ContentSplit.share(
                dockArea.width, needs: wanted, minimum: min(30, dockArea.width / max(1, slots.count)), spareTo: growing, weights: weights
            ))
        }
        for (i, column) in columns.enumerated() {
            let stack = slots[i]
            if stack.count > 1, column.height >= 6 * stack.count {
                let rows: [Rect]
                if needs.isEmpty {
                    rows = column.rows(stack.count)
                } else {
                    // Spare rows go to the panel that always has more (events), else the first.
                    let growing = stack.firstIndex { needs[$0]?.grows == true } ?? 0
                    rows = column.rows(heights: ContentSplit.share(column.height, needs: stack.map { needs[$0]?.height ?? 0 }, minimum: 5, spareTo: growing))
                }
                for (panel, rect) in zip(stack, rows) { dock.append((panel, rect)) }
            } else {
                dock.append((shownInSlot(i, stack), column))
            }
        }
        return DashboardLayout(header: header, ranks: ranks, dock: dock, footer: footer, timeline: timelineRect, slots: slots)
    }
}
