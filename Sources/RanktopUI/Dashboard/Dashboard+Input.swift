import RanktopModel
import RanktopProtocol

extension Dashboard {
    /// Applies one input to the state; returns what the runner should do. `model` and `now` are
    /// the live ones (`p` freezes them); `wall` is the wall clock, which times footer messages
    /// (a replay's run clock is in the log's past), and defaults to `now`.
    public mutating func handle(_ input: InputEvent, model: RunModel, now: Double, wall: Double? = nil) -> DashboardAction {
        self.wall = wall ?? now
        let selected = selectedRank
        let action = apply(input, model: model, now: now)
        // A footer message speaks of the rank it was about: moving on makes it stale.
        if selectedRank != selected, status != nil {
            status = nil
            return action == .none ? .redraw : action
        }
        return action
    }

    private mutating func apply(_ input: InputEvent, model: RunModel, now: Double) -> DashboardAction {
        switch input {
        case .resize:
            return .redraw
        case let .mouse(mouse):
            return handleMouse(mouse)
        case let .key(key):
            if let overlay { return handleOverlayKey(key, overlay: overlay, model: model, now: now) }
            return handleKey(key, model: model, now: now)
        }
    }

    private mutating func handleOverlayKey(_ key: Key, overlay: Overlay, model: RunModel, now: Double) -> DashboardAction {
        switch overlay {
        case .help:
            self.overlay = nil
            return .redraw
        case .confirmQuit:
            if key == .char("y") || key == .char("Y") { return .quitStoppingRun }
            if key == .escape || key == .char("n") || key == .char("N") || key == .char("q") {
                self.overlay = nil
                return .redraw
            }
            return .none
        case var .triggerDialog(field):
            switch key {
            case .escape:
                self.overlay = nil
                return .redraw
            case .enter:
                self.overlay = nil
                guard options.canControl, !Dashboard.isOver(model) else { return .redraw }
                let reason = field.text.trimmingWhitespace()
                showStatus("sending the trigger" + options.glyphs.ellipsis, now: self.wall, seconds: 30)
                return .injectTrigger(reason: reason.isEmpty ? nil : String(reason))
            default:
                guard options.canControl, !Dashboard.isOver(model), field.edit(key) else { return .none }
                self.overlay = .triggerDialog(field)
                return .redraw
            }
        case .filter(let panel, var field, let previous):
            switch key {
            case .enter:
                self.overlay = nil
                return .redraw
            case .escape:
                setFilter(previous, for: panel)
                self.overlay = nil
                return .redraw
            default:
                guard field.edit(key) else { return .none }
                self.overlay = .filter(panel, field, previous: previous)
                setFilter(field.text, for: panel)
                return .redraw
            }
        case var .stacks(state):
            switch Keymap.command(for: key) {
            case .back, .quit, .open:
                self.overlay = nil
                return .redraw
            case .moveLeft, .moveRight:
                state.firstGroup = max(0, state.firstGroup + (Keymap.command(for: key) == .moveRight ? 1 : -1))
                self.overlay = .stacks(state)
                return .redraw
            case .stacks:
                return askEveryRank(model: model, now: now)
            case let command? where [.trigger, .pause, .help].contains(command):
                return perform(command, model: model, now: now)
            default:
                return key == .backspace ? closeOverlay() : .none
            }
        case .charts:
            switch Keymap.command(for: key) {
            case .back, .quit, .charts, .open:
                self.overlay = nil
                return .redraw
            case let command? where [.trigger, .pause, .help, .moveUp, .moveDown].contains(command):
                return perform(command, model: model, now: now)
            default:
                return key == .backspace ? closeOverlay() : .none
            }
        case let .detail(rank):
            if key == .backspace {
                self.overlay = nil
                return .redraw
            }
            switch Keymap.command(for: key) {
            case .back, .open, .quit, .moveLeft:
                self.overlay = nil
                return .redraw
            case .moveUp, .moveDown:
                let forward = Keymap.command(for: key) == .moveDown
                let order = frame.rankOrder.isEmpty ? Array(0..<model.world) : frame.rankOrder
                guard let i = order.firstIndex(of: rank) else { return .none }
                let next = order[min(order.count - 1, max(0, i + (forward ? 1 : -1)))]
                selectedRank = next
                self.overlay = .detail(rank: next)
                return .redraw
            case .requestStack:
                return requestStack(rank: rank, model: model, now: now)
            case let command? where [.trigger, .pause, .help].contains(command):
                return perform(command, model: model, now: now)
            default:
                return .none
            }
        }
    }

    private mutating func handleKey(_ key: Key, model: RunModel, now: Double) -> DashboardAction {
        guard let command = Keymap.command(for: key, replay: options.replay) else { return .none }
        return perform(command, model: model, now: now)
    }

    private mutating func perform(_ command: KeyCommand, model: RunModel, now: Double) -> DashboardAction {
        switch command {
        case .quit:
            if options.ownsRun, !Dashboard.isOver(model), ended == nil {
                overlay = .confirmQuit
                return .redraw
            }
            return .quit
        case .help:
            overlay = .help
        case .nextPanel:
            setFocus(panelOrder.after(focus))
        case .previousPanel:
            setFocus(panelOrder.before(focus))
        case .trigger:
            overlay = .triggerDialog(TextField())
        case .pause:
            if paused == nil {
                paused = (model, now)
                showStatus("display paused; the run goes on (p resumes)", now: self.wall, seconds: 4)
            } else {
                paused = nil
                showStatus("display resumed", now: self.wall, seconds: 2)
            }
        case .sort:
            sort = sort.next
            showStatus("ranks sorted by \(sort.rawValue)\(sortReversed ? ", reversed" : "")", now: self.wall, seconds: 3)
        case .charts:
            overlay = .charts
        case .routineEvents:
            hideRoutineEvents.toggle()
            showStatus(hideRoutineEvents ? "events: progress and unfired checks hidden (r shows them)" : "events: every kind shown", now: self.wall, seconds: 3)
        case .reverseSort:
            sortReversed.toggle()
            showStatus("ranks sorted by \(sort.rawValue)\(sortReversed ? ", reversed" : "")", now: self.wall, seconds: 3)
        case .toggleGrid:
            viewMode = frame.grid != nil ? .table : .grid
        case .filter:
            let panel: PanelID = focus == .events ? .events : .ranks
            let current = panel == .events ? eventFilter : filter.text
            overlay = .filter(panel, TextField(current), previous: current)
        case .back:
            if focus == .events, !eventFilter.isEmpty {
                eventFilter = ""
            } else if !filter.isEmpty {
                filter = RankFilter()
            } else {
                return .none
            }
        case .open:
            return openDetail()
        case .stacks:
            return askEveryRank(model: model, now: now)
        case .requestStack:
            guard let rank = selectedRank else { return .none }
            overlay = .detail(rank: rank)
            return requestStack(rank: rank, model: model, now: now)
        case .moveUp, .moveDown, .moveLeft, .moveRight, .pageUp, .pageDown, .first, .last:
            return move(command) ? .redraw : .none
        case let .replay(command):
            return .replay(command)
        }
        return .redraw
    }

    /// Every rank of the world has ended: quitting costs the run nothing.
    static func isOver(_ model: RunModel) -> Bool {
        model.world > 0 && (0..<model.world).allSatisfy { model.rank($0)?.status.isTerminal ?? false }
    }

    private mutating func openDetail() -> DashboardAction {
        switch focus {
        case .events:
            guard let i = selectedEvent, i < frame.eventRanks.count, frame.eventRanks[i] >= 0 else { return .none }
            selectedRank = frame.eventRanks[i]
        default:
            break
        }
        guard let rank = selectedRank else { return .none }
        overlay = .detail(rank: rank)
        return .redraw
    }

    private mutating func requestStack(rank: Int, model: RunModel, now: Double) -> DashboardAction {
        guard options.canControl else {
            showStatus("stacks cannot be requested from a replayed log", isError: true, now: self.wall)
            return .redraw
        }
        if let why = Dashboard.whyNotAsked(rank: rank, model: model) {
            stackRequests[rank] = nil
            showStatus("rank \(rank) not asked for its stack: \(why)", now: self.wall)
            return .redraw
        }
        stackRequests[rank] = StackRequest(at: now)
        return .requestStack(rank: rank)
    }

    private mutating func closeOverlay() -> DashboardAction {
        overlay = nil
        return .redraw
    }

    /// `S`: asks every rank that may answer for its stack and shows the stacks view. Where
    /// nobody can be asked (a replayed log, a run that is over) it shows the last stacks the log
    /// holds, which automatic capture leaves there.
    private mutating func askEveryRank(model: RunModel, now: Double) -> DashboardAction {
        let ranks = options.canControl ? (0..<model.world).filter { Dashboard.whyNotAsked(rank: $0, model: model) == nil } : []
        var state = StacksOverlay(at: ranks.isEmpty ? nil : now, asked: RankSet(ranks))
        if case let .stacks(previous) = overlay { state.firstGroup = previous.firstGroup }
        overlay = .stacks(state)
        guard !ranks.isEmpty else { return .redraw }
        for rank in ranks { stackRequests[rank] = StackRequest(at: now) }
        return .requestStacks(ranks: ranks)
    }

    /// Why asking `rank` for its stack would be pointless (it has no process to answer), or nil.
    static func whyNotAsked(rank: Int, model: RunModel) -> String? {
        guard let info = model.rank(rank) else { return "it never connected" }
        switch info.status {
        case .exited, .stopped, .failed: return "it has \(info.status == .failed ? "failed" : info.status.rawValue) and is gone"
        case .lost: return "it is lost (\(info.lostReason ?? "no reason given"))"
        case .running, .waiting: return nil
        }
    }

    /// Tab's order: the ranks, then the dock as it is laid out, row by row, left to right (a
    /// two-by-two dock is barriers, triggers, phases, events), so that Tab moves as the eye reads.
    var panelOrder: [PanelID] {
        let slots = frame.dockSlots.isEmpty ? DashboardLayout.dockSlots(width: frame.size.width) : frame.dockSlots
        var order: [PanelID] = [.ranks]
        for row in 0..<(slots.map(\.count).max() ?? 0) {
            for column in slots where row < column.count { order.append(column[row]) }
        }
        for panel in PanelID.allCases where !order.contains(panel) { order.append(panel) }
        return order
    }

    mutating func setFocus(_ panel: PanelID) {
        focus = panel
        let slots = frame.dockSlots.isEmpty ? DashboardLayout.dockSlots(width: frame.size.width) : frame.dockSlots
        if let slot = slots.firstIndex(where: { $0.contains(panel) }) { dockChoice[slot] = panel }
    }

    private mutating func setFilter(_ text: String, for panel: PanelID) {
        if panel == .events {
            eventFilter = text
            eventsFollow = true
        } else {
            filter = RankFilter(text)
            scroll[.ranks] = 0
        }
    }

    /// Arrows, j/k/h/l, PgUp/PgDn, Home/End in the focused panel. False when nothing moved.
    private mutating func move(_ command: KeyCommand) -> Bool {
        enum Step { case by(Int), first, last }
        let page = max(1, (focus == .ranks ? frame.table?.rows.height ?? frame.grid?.visibleRows : frame.visibleLines[focus]) ?? 1)
        let gridColumns = frame.grid?.columns
        let step: Step
        switch command {
        case .moveUp: step = .by(-(focus == .ranks ? gridColumns ?? 1 : 1))
        case .moveDown: step = .by(focus == .ranks ? gridColumns ?? 1 : 1)
        case .moveLeft:
            guard focus == .ranks, gridColumns != nil else { return false }
            step = .by(-1)
        case .moveRight:
            guard focus == .ranks, gridColumns != nil else { return false }
            step = .by(1)
        case .pageUp: step = .by(-page * (focus == .ranks ? gridColumns ?? 1 : 1))
        case .pageDown: step = .by(page * (focus == .ranks ? gridColumns ?? 1 : 1))
        case .first: step = .first
        case .last: step = .last
        default: return false
        }
        switch focus {
        case .ranks:
            if frame.grid != nil {
                // The grid is in rank order and holds every rank.
                let count = frame.world
                guard count > 0 else { return false }
                let current = selectedRank ?? 0
                switch step {
                case let .by(n): selectedRank = min(max(0, current + n), max(0, count - 1))
                case .first: selectedRank = 0
                case .last: selectedRank = max(0, count - 1)
                }
            } else {
                let order = frame.rankOrder
                guard !order.isEmpty else { return false }
                let i = selectedRank.flatMap(order.firstIndex(of:)) ?? 0
                switch step {
                case let .by(n): selectedRank = order[min(max(0, i + n), order.count - 1)]
                case .first: selectedRank = order[0]
                case .last: selectedRank = order[order.count - 1]
                }
            }
        case .events:
            let count = frame.contentLines[.events] ?? 0
            guard count > 0 else { return false }
            let current = selectedEvent ?? count - 1
            let target: Int
            switch step {
            case let .by(n): target = min(max(0, current + n), count - 1)
            case .first: target = 0
            case .last: target = count - 1
            }
            selectedEvent = target
            eventsFollow = target == count - 1
        case .barriers, .phases, .triggers:
            let maxScroll = max(0, (frame.contentLines[focus] ?? 0) - (frame.visibleLines[focus] ?? 0))
            let current = scroll[focus] ?? 0
            switch step {
            case let .by(n): scroll[focus] = min(max(0, current + n), maxScroll)
            case .first: scroll[focus] = 0
            case .last: scroll[focus] = maxScroll
            }
        }
        return true
    }

    private mutating func handleMouse(_ mouse: MouseEvent) -> DashboardAction {
        if overlay == .help {
            overlay = nil
            return .redraw
        }
        guard overlay == nil, let panel = frame.panel(at: mouse.x, mouse.y) else { return .none }
        switch mouse.kind {
        case .wheelUp, .wheelDown:
            let previous = focus
            focus = panel
            for _ in 0..<3 { _ = move(mouse.kind == .wheelUp ? .moveUp : .moveDown) }
            focus = previous
            return .redraw
        case .click, .doubleClick:
            setFocus(panel)
            if panel == .ranks {
                if let table = frame.table, table.rows.contains(x: mouse.x, y: mouse.y) {
                    let i = table.scroll + mouse.y - table.rows.y
                    if i < frame.rankOrder.count { selectedRank = frame.rankOrder[i] }
                } else if let grid = frame.grid {
                    let col = mouse.x - grid.x, row = mouse.y - grid.y
                    let rank = (grid.firstRow + row) * grid.columns + col
                    if col >= 0, col < grid.columns, row >= 0, row < grid.visibleRows, rank < frame.world {
                        selectedRank = rank
                    }
                }
            } else if panel == .events, let i = frame.eventRows[mouse.y] {
                selectedEvent = i
                eventsFollow = i == (frame.contentLines[.events] ?? 0) - 1
            }
            if mouse.kind == .doubleClick { return openDetail() }
            return .redraw
        }
    }
}
