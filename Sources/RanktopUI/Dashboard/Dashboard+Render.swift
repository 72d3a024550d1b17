import RanktopModel

extension Dashboard {
    /// Draws the whole screen for `model` at `now` (the frozen model and clock while paused).
    /// `wall` is the wall clock for footer messages; it defaults to `now`.
    public mutating func render(model liveModel: RunModel, now liveNow: Double, size: Size, wall: Double? = nil) -> Canvas {
        self.wall = wall ?? liveNow
        if let status, status.until <= self.wall { self.status = nil }
        let (model, clock) = paused ?? (liveModel, liveNow)
        if let status, status.whileRunning, ended != nil || Dashboard.isOver(model) { self.status = nil }
        let toEnd = measuresToTheEnd(model)
        let now = toEnd ? model.lastTs ?? clock : clock
        var canvas = Canvas(width: size.width, height: size.height, asciiOnly: options.glyphs == .ascii, background: options.theme[.text])
        let digest = RunSnapshot(model: model, now: now, staleAfter: options.staleAfter, stallPolicy: options.stallPolicy)
        let context = RenderContext(model: model, digest: digest, now: now, options: options)
        frame = FrameGeometry()
        frame.size = size
        frame.world = digest.world
        guard size.width >= DashboardLayout.minimumSize.width, size.height >= DashboardLayout.minimumSize.height else {
            Dialogs.tooSmall(into: &canvas, context: context)
            return canvas
        }

        let order = sort.order(model: model, digest: digest, filter: filter, reversed: sortReversed, scores: { context.scores })
        frame.rankOrder = order
        let tableWanted = RanksTablePanel.wantedHeight(rows: max(1, order.count))
        let dock = DockContent(context: context, screenWidth: size.width, eventFilter: eventFilter, hideRoutine: hideRoutineEvents)
        let needs = dock.needs
        let probe = layout(size: size, ranksWanted: tableWanted, needs: needs)
        let useGrid: Bool
        switch viewMode {
        case .auto: useGrid = probe.ranks.height < tableWanted
        case .table: useGrid = false
        case .grid: useGrid = true
        }
        let layout = useGrid ? layout(size: size, ranksWanted: RankGridPanel.wantedHeight(world: digest.world, panelWidth: size.width), needs: needs) : probe
        // The grid shows every rank (a filter only dims), the table only those that match.
        let selectable = useGrid ? (selectedRank.map { $0 < digest.world } ?? false) : (selectedRank.map(order.contains) ?? false)
        if !selectable { selectedRank = order.first ?? (useGrid && digest.world > 0 ? 0 : nil) }

        HeaderPanel.draw(into: &canvas, rect: layout.header, context: context,
                         flags: .init(paused: isPaused, ended: toEnd ? (ended ?? "run over") + ", ages to its end" : ended, eventsPerSecond: eventsPerSecond))
        drawRanks(into: &canvas, rect: layout.ranks, grid: useGrid, order: order, context: context)
        for (panel, rect) in layout.dock {
            drawDockPanel(panel, into: &canvas, rect: rect, content: dock, context: context)
        }
        frame.panels = [(.ranks, layout.ranks)] + layout.dock
        frame.dockSlots = layout.slots
        if let rect = layout.timeline, let replayBar { TimelineBar.draw(into: &canvas, rect: rect, bar: replayBar, context: context) }
        FooterBar.draw(into: &canvas, rect: layout.footer, overlay: overlay, status: status, ended: ended, context: context)
        let bodyBottom = layout.timeline?.y ?? layout.footer.y
        drawOverlay(into: &canvas, body: Rect(x: 0, y: layout.header.maxY, width: size.width, height: bodyBottom - layout.header.maxY), context: context)
        return canvas
    }

    /// Whether ages and durations are measured to the run's last event instead of the clock: once
    /// the source ended (a replayed log, a collector gone) or every rank ended. The clock then
    /// only moves away from the run (or, replaying, stopped somewhere in the log), and "last seen
    /// 2h ago" would say more about when you looked than about the run.
    func measuresToTheEnd(_ model: RunModel) -> Bool {
        model.lastTs != nil && (ended != nil || Dashboard.isOver(model))
    }

    private func layout(size: Size, ranksWanted: Int, needs: [PanelID: DashboardLayout.PanelNeed]) -> DashboardLayout {
        DashboardLayout.compute(size: size, ranksWanted: ranksWanted, timeline: replayBar != nil, needs: needs) { slot, stack in
            stack.contains(focus) ? focus : (dockChoice[slot].flatMap { stack.contains($0) ? $0 : nil } ?? stack[0])
        }
    }

    private mutating func drawRanks(into canvas: inout Canvas, rect: Rect, grid: Bool, order: [Int], context: RenderContext) {
        let focused = focus == .ranks && overlay == nil
        let title = RanksTitle.make(shown: order.count, world: context.digest.world, sort: sort, reversed: sortReversed, filter: filter, focused: focused, context: context)
        if grid {
            let g = RankGridPanel.draw(into: &canvas, rect: rect, filter: filter, selected: selectedRank, focused: focused, title: title, context: context)
            frame.grid = .init(x: g.origin.x, y: g.origin.y, columns: g.columns, visibleRows: g.visibleRows, firstRow: g.firstRow)
        } else {
            let t = RanksTablePanel.draw(into: &canvas, rect: rect, order: order, selected: selectedRank, scroll: scroll[.ranks] ?? 0,
                                         focused: focused, title: title, context: context)
            scroll[.ranks] = t.scroll
            frame.table = .init(rows: t.rows, scroll: t.scroll)
        }
    }

    private mutating func drawDockPanel(_ panel: PanelID, into canvas: inout Canvas, rect: Rect, content: DockContent, context: RenderContext) {
        let focused = focus == panel && overlay == nil
        let innerWidth = max(0, rect.width - 2)
        let title: StyledLine
        var lines: [StyledLine]
        switch panel {
        case .barriers:
            title = BarriersPanel.title(focused: focused, context: context)
            lines = content.barriers(width: innerWidth, context: context)
        case .phases:
            title = PhasesPanel.title(focused: focused, context: context)
            lines = content.phases
        case .triggers:
            title = TriggersPanel.title(focused: focused, context: context)
            lines = content.triggers
        case .events:
            drawEvents(content, into: &canvas, rect: rect, focused: focused, context: context)
            return
        case .ranks:
            return
        }
        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title, focused: focused, context: context)
        let top = LineList.draw(lines, into: &canvas, rect: inner, scroll: scroll[panel] ?? 0, context: context)
        scroll[panel] = top
        frame.contentLines[panel] = lines.count
        frame.visibleLines[panel] = inner.height
    }

    private mutating func drawEvents(_ content: DockContent, into canvas: inout Canvas, rect: Rect, focused: Bool, context: RenderContext) {
        let events = content.events
        let title = EventsPanel.title(shown: events.count, filter: eventFilter, hidingRoutine: hideRoutineEvents, focused: focused, context: context)
        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title, focused: focused, context: context)
        let visible = inner.height
        if eventsFollow || selectedEvent == nil { selectedEvent = events.isEmpty ? nil : events.count - 1 }
        if let selected = selectedEvent { selectedEvent = min(max(0, selected), events.count - 1) }
        var top = eventsFollow ? max(0, events.count - visible) : min(scroll[.events] ?? 0, max(0, events.count - visible))
        if let selected = selectedEvent, !eventsFollow {
            if selected < top { top = selected }
            if selected >= top + visible { top = selected - visible + 1 }
        }
        scroll[.events] = top
        let lines = content.eventLines(top..<min(events.count, top + visible), context: context)
        LineList.draw(Array(lines), into: &canvas, rect: inner, scroll: 0, context: context)
        if events.isEmpty {
            let message: String
            if !eventFilter.isEmpty {
                message = "no event matches the filter"
            } else if context.model.recentEvents.isEmpty {
                message = "no events yet"
            } else if hideRoutineEvents {
                message = "only routine events lately (r shows them)"
            } else {
                message = "only heartbeats lately (/ heartbeat shows them)"
            }
            canvas.put(message, x: inner.x, y: inner.y, style: context.style(.dim), limit: inner.maxX)
        }
        if focused, let selected = selectedEvent, selected >= top, selected < top + visible {
            canvas.restyle(Rect(x: inner.x, y: inner.y + selected - top, width: inner.width, height: 1), overlay: context.theme.raw(.selection))
        }
        frame.contentLines[.events] = events.count
        frame.visibleLines[.events] = visible
        frame.eventRanks = events.map(\.rank)
        for row in 0..<min(visible, events.count - top) { frame.eventRows[inner.y + row] = top + row }
    }

    private mutating func drawOverlay(into canvas: inout Canvas, body: Rect, context: RenderContext) {
        switch overlay {
        case .help:
            Dialogs.help(into: &canvas, context: context)
        case let .detail(rank):
            RankDetailPanel.draw(into: &canvas, rect: body, rank: rank, stackRequest: stackRequests[rank], context: context)
        case var .stacks(state):
            state.firstGroup = StacksView.draw(into: &canvas, rect: body, state: state, cache: &stacksCache, context: context)
            overlay = .stacks(state)
        case .charts:
            ChartsView.draw(into: &canvas, rect: body, selected: selectedRank, context: context)
        case let .triggerDialog(field):
            Dialogs.trigger(field, into: &canvas, context: context)
        case .confirmQuit:
            Dialogs.confirmQuit(into: &canvas, context: context)
        case .filter, nil:
            break
        }
    }
}
