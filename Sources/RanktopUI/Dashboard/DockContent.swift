import RanktopProtocol

/// The dock panels' lines for one frame, built once: the layout sizes the dock by them
/// (`needs`) and the panels draw them. Only the waits' lines depend on the width they get
/// (a wait's timing wraps onto a second line where narrow, a mismatch goes one side per line,
/// missing ranks are packed per line); they are rebuilt only for a width where they could come
/// out otherwise. At 4096 ranks they cost about a millisecond a time.
struct DockContent {
    let measuredWidth: Int
    let barriers: [StyledLine]
    let phases: [StyledLine]
    let triggers: [StyledLine]
    /// The events panel's events, filtered and in time order.
    let events: [Event]
    /// The styled lines of the newest events, as many as a tall panel shows.
    let newestEventLines: [StyledLine]

    /// Measured at half the screen's width: the dock's columns are about that wide.
    init(context: RenderContext, screenWidth: Int, eventFilter: String, hideRoutine: Bool) {
        measuredWidth = max(1, screenWidth / 2 - 2)
        barriers = BarriersPanel.lines(width: measuredWidth, context: context)
        phases = PhasesPanel.lines(context: context)
        triggers = TriggersPanel.lines(context: context)
        events = EventsPanel.events(context: context, filter: eventFilter, hideRoutine: hideRoutine)
        newestEventLines = events.suffix(48).map { EventsPanel.styledLine(for: $0, context: context) }
    }

    /// The styled lines of `events[range]`: the newest ones as measured (what a following
    /// panel shows), others styled now.
    func eventLines(_ range: Range<Int>, context: RenderContext) -> [StyledLine] {
        let firstMeasured = events.count - newestEventLines.count
        return range.map { i in
            i >= firstMeasured ? newestEventLines[i - firstMeasured] : EventsPanel.styledLine(for: events[i], context: context)
        }
    }

    /// The waits' lines for `width`. Those measured wider serve when every one of them fits
    /// `width`: each wrap or packing decision compares a piece with the width, and what did not
    /// fit the wider width does not fit the narrower one either. (The one decision that keeps
    /// a margin, room for "+N more" on the third line of missing ranks, may then keep one range
    /// more than a fresh layout would: still within the width.)
    func barriers(width: Int, context: RenderContext) -> [StyledLine] {
        let same = width == measuredWidth || (width < measuredWidth && barriers.allSatisfy { $0.width <= width })
        return same ? barriers : BarriersPanel.lines(width: width, context: context)
    }

    /// What each panel's lines need (see `DashboardLayout.PanelNeed`).
    var needs: [PanelID: DashboardLayout.PanelNeed] {
        func need(_ lines: [StyledLine], grows: Bool = false) -> DashboardLayout.PanelNeed {
            DashboardLayout.PanelNeed(width: (lines.map(\.width).max() ?? 0) + 2, height: lines.count + 2, grows: grows)
        }
        return [.barriers: need(barriers), .phases: need(phases), .triggers: need(triggers), .events: need(newestEventLines, grows: true)]
    }
}
