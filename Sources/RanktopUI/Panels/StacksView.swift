import RanktopModel
import RanktopProtocol

/// Every rank's stack at once (`S`), as `py-spy dump` over the whole job would be folded: ranks
/// with the same stack form one group, side by side, each headed by its ranks and count, frames
/// innermost first and fitted to the column with the function kept (`Format.frame`).
enum StacksView {
    /// Narrower than this, a column shows too little of a frame to be worth having.
    static let minimumColumnWidth = 36

    /// The groups of the last frame, and what they were made from: regrouping thousands of
    /// stacks of dozens of frames every frame would cost more than the rest of the frame.
    struct Cache: Sendable {
        var stackIDs: [String?]
        var request: StacksOverlay
        var groups: [StackGroup]
        var unanswered: [Int]
    }

    /// The stacks that answer `state` as groups, and the ranks asked that have not answered;
    /// from `cache` while no rank's last stack changed.
    static func content(_ state: StacksOverlay, context: RenderContext, cache: inout Cache?) -> (groups: [StackGroup], unanswered: [Int]) {
        let model = context.model
        var request = state
        request.firstGroup = 0
        // Read through the array in place: copying each rank's whole RankInfo is what 4096
        // ranks a frame would spend the time on.
        let slots = model.rankSlots
        let ids = (0..<model.world).map { $0 < slots.count ? slots[$0]?.lastStack?.id : nil }
        if let cache, cache.stackIDs == ids, cache.request == request { return (cache.groups, cache.unanswered) }
        var stacks: [RankStack] = []
        var unanswered: [Int] = []
        for rank in 0..<model.world {
            if rank < slots.count, let stack = slots[rank]?.lastStack, state.isAnswered(byStackAt: stack.ts) {
                stacks.append(RankStack(rank: rank, ts: stack.ts, frames: stack.frames))
            } else if state.asked.contains(rank: rank) {
                unanswered.append(rank)
            }
        }
        let groups = StackGroup.groups(stacks)
        cache = Cache(stackIDs: ids, request: request, groups: groups, unanswered: unanswered)
        return (groups, unanswered)
    }

    /// Draws the view into `rect`; returns the first group shown (clamped to what exists).
    static func draw(into canvas: inout Canvas, rect: Rect, state: StacksOverlay, cache: inout Cache?, context: RenderContext) -> Int {
        let (groups, unanswered) = content(state, context: context, cache: &cache)
        let capacity = max(1, (rect.width - 2) / minimumColumnWidth)
        let first = max(0, min(state.firstGroup, groups.count - capacity))
        let shown = Array(groups.dropFirst(first).prefix(capacity))

        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title(state, groups: groups, first: first, shown: shown.count, context: context), focused: true, context: context)
        guard inner.height > 0, inner.width > 0 else { return first }
        let statusRows = unanswered.isEmpty || groups.isEmpty ? 0 : 1
        let body = Rect(x: inner.x, y: inner.y, width: inner.width, height: inner.height - statusRows)

        if shown.isEmpty {
            LineList.draw(emptyLines(state, unanswered: unanswered, context: context), into: &canvas, rect: body.inset(by: 1), scroll: 0, context: context)
            return first
        }
        for (group, column) in zip(shown, body.columns(shown.count)) {
            drawGroup(group, into: &canvas, rect: column, context: context)
        }
        if statusRows > 0 {
            pendingLine(state, unanswered: unanswered, context: context)
                .draw(into: &canvas, x: inner.x + 1, y: inner.maxY - 1, width: inner.width - 2, ellipsis: context.glyphs.ellipsis)
        }
        return first
    }

    private static func title(_ state: StacksOverlay, groups: [StackGroup], first: Int, shown: Int, context: RenderContext) -> StyledLine {
        let dim = context.style(.dim)
        var title = StyledLine("STACKS", context.style(.titleFocused))
        let ranks = groups.reduce(0) { $0 + $1.ranks.count }
        if let at = state.at {
            title.add("  \(ranks) of \(state.asked.count) answered, asked \(Format.duration(context.now - at)) ago", context.style(.text))
        } else {
            title.add("  the last stack of \(ranks) rank\(ranks == 1 ? "" : "s") in the log", context.style(.text))
        }
        if groups.count > shown {
            title.add("  groups \(first + 1)-\(first + shown) of \(groups.count)", context.style(.warning))
        }
        let keys = groups.count > shown ? (context.glyphs == .ascii ? "<- -> groups, " : "←→ groups, ") : ""
        title.add("  innermost first (\(keys)" + (context.options.canControl ? "S ask again, " : "") + "Esc back)", dim)
        return title
    }

    private static func drawGroup(_ group: StackGroup, into canvas: inout Canvas, rect: Rect, context: RenderContext) {
        var title = StyledLine(group.title, context.style(.title))
        title.add("  " + Format.duration(max(0, context.now - group.newest)) + " ago", context.style(.dim))
        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title, focused: false, context: context)
        guard inner.height > 0 else { return }
        let width = inner.width - 1
        var lines = group.frames.map { frameLine($0, width: width, context: context) }
        if lines.isEmpty { lines = [StyledLine("(no frames)", context.style(.dim))] }
        if lines.count > inner.height {
            // Innermost first: what is cut is the outermost, least telling part.
            let hidden = lines.count - inner.height + 1
            lines = Array(lines.prefix(inner.height - 1)) + [StyledLine("\(context.glyphs.ellipsis) \(hidden) outer frame\(hidden == 1 ? "" : "s")", context.style(.dim))]
        }
        LineList.draw(lines, into: &canvas, rect: Rect(x: inner.x + 1, y: inner.y, width: width, height: inner.height), scroll: 0, context: context)
    }

    /// One frame, styled: the user's own frames stand out, locations and source lines recede.
    static func frameLine(_ frame: StackFrame, width: Int, context: RenderContext) -> StyledLine {
        let fitted = Format.frame(frame, width: width, ascii: context.glyphs == .ascii, ellipsis: context.glyphs.ellipsis)
        let strong = context.style(frame.isUser ? .titleFocused : .text)
        var line = StyledLine(fitted.marker, strong)
        line.add(fitted.function, strong)
        line.add(fitted.location, context.style(.dim))
        line.add(fitted.detail, context.style(.dim))
        return line
    }

    private static func pendingLine(_ state: StacksOverlay, unanswered: [Int], context: RenderContext) -> StyledLine {
        let ranks = Format.ranksLabelled(RankSet(unanswered), limit: 12)
        if let at = state.at, context.now - at < StackRequest.answerTimeout {
            return StyledLine("waiting for \(ranks)", context.style(.triggerPending))
        }
        return StyledLine("no answer from \(ranks)", context.style(.warning))
    }

    private static func emptyLines(_ state: StacksOverlay, unanswered: [Int], context: RenderContext) -> [StyledLine] {
        let dim = context.style(.dim)
        if state.at != nil, !unanswered.isEmpty {
            return [pendingLine(state, unanswered: unanswered, context: context)]
        }
        if !context.options.canControl {
            return [StyledLine("no stacks in this log: a live run's collector captures them once a barrier hangs (--stack-after)", dim)]
        }
        return [StyledLine("no rank is running to ask, and none answered before", dim)]
    }
}
