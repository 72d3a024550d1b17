import RanktopModel

/// The charts overlay (`c`): step time and loss over the run, as a band of min / median / max
/// across ranks with the selected rank's recent steps drawn over it, then the wait each recent
/// barrier and blocking collective cost. All from the model (`RunModel.stepTimeSeries`,
/// `.lossSeries`, `.completedBarriers`, `.completedCollectiveWaits`), so a replay draws what the
/// live view drew.
enum ChartsView {
    static func draw(into canvas: inout Canvas, rect: Rect, selected: Int?, context: RenderContext) {
        let sep = context.glyphs.separator
        var title = StyledLine("CHARTS", context.style(.titleFocused))
        title.add("  band: min to max across ranks, median over it", context.style(.dim))
        if let selected { title.add(sep + "rank \(selected) over it", context.style(.warning)) }
        title.add(sep + "c or Esc closes", context.style(.dim))
        let inner = PanelFrame.draw(into: &canvas, rect: rect, title: title, focused: true, context: context)
        guard inner.height >= 6, inner.width >= 20 else { return }
        let model = context.model
        let sections = 4
        let each = inner.height / sections
        var y = inner.y
        func section(_ name: String, height: Int, _ body: (Rect) -> Void) {
            canvas.put(name, x: inner.x + 1, y: y, style: context.style(.title), limit: inner.maxX)
            body(Rect(x: inner.x + 1, y: y + 1, width: inner.width - 2, height: height - 1))
            y += height
        }

        let stepPoints = model.stepTimeSeries.points
        let own = selected.flatMap { model.rank($0) }.map { Array($0.recentStepTimes) } ?? []
        section("STEP TIME" + stepSummary(stepPoints, separator: sep), height: each) { area in
            Chart.draw(into: &canvas, rect: area, band: columns(stepPoints), line: own, xLabels: stepLabels(stepPoints),
                       format: { Format.duration($0) }, context: context)
        }
        let lossPoints = model.lossSeries.points
        section("LOSS" + sep + (lossPoints.last.map { "median \(Format.metric($0.median)) at step \($0.lastStep)" } ?? "no rank reports a 'loss' metric"), height: each) { area in
            Chart.draw(into: &canvas, rect: area, band: columns(lossPoints), xLabels: stepLabels(lossPoints),
                       format: { Format.metric($0) }, context: context)
        }
        let barriers = Array(model.completedBarriers)
        let waits = barriers.map { Chart.Column(min: 0, median: $0.waitCaused, max: $0.waitCaused) }
        let barrierLabels = barriers.first.map { first in ("barrier #\(first.n)", "#\(barriers.last!.n)") }
        section("WAIT FOR THE LAST RANK, PER BARRIER" + (barriers.last.map { sep + "last \(Format.duration($0.waitCaused)) (#\($0.n))" } ?? ""), height: each) { area in
            Chart.draw(into: &canvas, rect: area, band: waits, xLabels: barrierLabels, format: { Format.duration($0) }, context: context)
        }
        let collectives = Array(model.completedCollectiveWaits)
        let collectiveWaits = collectives.map { Chart.Column(min: 0, median: $0.waitCaused, max: $0.waitCaused) }
        let collectiveLabels = collectives.first.map { first in ("\(first.op) #\(first.key.n)", "#\(collectives.last!.key.n)") }
        let lastCollective = collectives.last.map { sep + "last \(Format.duration($0.waitCaused)) (\($0.op) #\($0.key.n))" } ?? ""
        section("WAIT FOR THE LAST RANK, PER COLLECTIVE" + lastCollective, height: inner.maxY - y) { area in
            Chart.draw(into: &canvas, rect: area, band: collectiveWaits, xLabels: collectiveLabels, format: { Format.duration($0) }, context: context)
        }
    }

    static func columns(_ points: [StepSeries.Point]) -> [Chart.Column] {
        points.map { Chart.Column(min: $0.min, median: $0.median, max: $0.max) }
    }

    static func stepLabels(_ points: [StepSeries.Point]) -> (first: String, last: String)? {
        guard let first = points.first, let last = points.last else { return nil }
        return ("step \(first.firstStep)", "step \(last.lastStep)")
    }

    static func stepSummary(_ points: [StepSeries.Point], separator: String) -> String {
        guard let last = points.last else { return separator + "no step times yet" }
        return separator + "median \(Format.duration(last.median)), slowest \(Format.duration(last.max)) at step \(last.lastStep)"
    }
}
