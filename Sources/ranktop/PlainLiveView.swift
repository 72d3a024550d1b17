import Foundation
import RanktopModel
import RanktopProtocol

/// The run as plain text: a status line when something changed (at most one a second), and a
/// line for each thing worth noticing as it happens (a rank failing or lost, a trigger firing,
/// an injection, a barrier that keeps ranks waiting). Works in any terminal, pipe or log file.
struct PlainLiveView {
    let source: any RunSource
    let logPath: String
    let ownsRun: Bool

    /// A barrier open this long gets its own line, naming who is missing.
    static let slowBarrier = 5.0

    func run() async {
        Console.say("ranktop: watching \(source.label), log \(logPath)\(ownsRun ? "; Ctrl-C stops the run" : "")")
        let state = ViewState()
        let batches = source.batches()
        let reader = Task {
            for await batch in batches { await state.apply(batch) }
            await state.finish()
        }
        let started = Date()
        while true {
            let (lines, finished) = await state.take(elapsed: Date().timeIntervalSince(started))
            for line in lines { Console.say(line) }
            if finished { break }
            try? await Task.sleep(for: .milliseconds(500))
        }
        reader.cancel()
    }
}

/// The model the plain view folds events into, and what it has already said.
private actor ViewState {
    private var model = RunModel(limits: .live)
    private var finished = false
    private var lastStatus = ""
    private var lastStatusTime = -1.0
    private var notices: [String] = []
    private var announcedFirings = Set<Int>()
    private var announcedSlowBarriers = Set<Int>()

    func apply(_ batch: [Event]) {
        for event in batch { apply(event) }
    }

    private func apply(_ event: Event) {
        let before = event.rank >= 0 ? model.rank(event.rank)?.status : nil
        model.apply(event)
        switch event.body {
        case .inject(let injection):
            notices.append("trigger injected by \(injection.by ?? "someone")\(injection.reason.map { ": \($0)" } ?? "") (\(injection.id))")
        case .triggerCheck(let n, true) where !announcedFirings.contains(n):
            announcedFirings.insert(n)
            let causes = model.firings.last { $0.check == n }?.causes ?? []
            var why: [String] = []
            for cause in causes {
                let text = cause.source == .manual
                    ? "injected \(cause.id ?? "")"
                    : "rank \(cause.rank.map(String.init) ?? "?")\(cause.reason.map { ": \($0)" } ?? "")"
                if !why.contains(text) { why.append(text) }
            }
            notices.append("trigger fired at check \(n)\(why.isEmpty ? "" : " (\(why.joined(separator: ", ")))")")
        case .stop(let stop):
            notices.append("stopping the run: \(stop.reason ?? stop.signal); the ranks get \(stop.signal)")
        case .lost(let reason):
            let what = model.rank(event.rank)?.status == .stopped ? "stopped (gone without bye)" : "lost"
            notices.append("rank \(event.rank) \(what): \(reason)")
        case .bye(let code, let error) where error != nil || (code ?? 0) != 0:
            // A death by the signal the user asked for is a stop, not a failure (see RunModel).
            let what = model.rank(event.rank)?.status == .stopped ? "stopped" : "failed"
            notices.append("rank \(event.rank) \(what)\(code.map { " with code \($0)" } ?? "")\(error.map { ": \($0)" } ?? "")")
        case .hello where before != nil && before!.isTerminal:
            notices.append("rank \(event.rank) is back")
        default:
            break
        }
    }

    func finish() { finished = true }

    /// Lines to print now, and whether the run's events have ended.
    func take(elapsed: Double) -> ([String], Bool) {
        var lines = notices.map { stamp(elapsed) + $0 }
        notices = []
        noteSlowBarriers(into: &lines, elapsed: elapsed)
        let status = statusLine()
        if status != lastStatus, elapsed - lastStatusTime >= 1 || finished {
            lines.append(stamp(elapsed) + status)
            lastStatus = status
            lastStatusTime = elapsed
        }
        if finished { lines.append(stamp(elapsed) + "run ended: " + countsByStatus()) }
        return (lines, finished)
    }

    private func stamp(_ elapsed: Double) -> String {
        "[" + String(format: "%6.1fs", elapsed) + "] "
    }

    private func statusLine() -> String {
        let ranks = model.ranks
        var parts: [String] = []
        let steps = ranks.compactMap(\.step)
        if let step = steps.max() {
            let total = ranks.compactMap(\.total).max()
            parts.append("step \(step)\(total.map { "/\($0)" } ?? "")\(steps.min() != step ? " (slowest \(steps.min()!))" : "")")
        }
        parts.append(countsByStatus())
        if let barrier = model.openBarriersByN.first {
            let missing = barrier.missingRanks(world: model.world)
            let name = barrier.name.map { " (\($0))" } ?? ""
            if !missing.isEmpty, !barrier.arrivedRanks.isEmpty {
                parts.append("barrier \(barrier.n)\(name) waiting for \(RankList.text(missing))")
            }
        }
        if let phase = ranks.compactMap(\.phase).first { parts.append("phase \(phase.name)") }
        if model.droppedTotal > 0 { parts.append("\(model.droppedTotal) dropped") }
        return parts.joined(separator: " | ")
    }

    private func countsByStatus() -> String {
        let ranks = model.ranks
        guard !ranks.isEmpty else { return "no rank has reported yet" }
        let world = model.world
        var parts: [String] = []
        for status in RankStatus.allCases {
            let count = ranks.filter { $0.status == status }.count
            if count > 0 { parts.append("\(count) \(status.rawValue)") }
        }
        let silent = world - ranks.count
        if silent > 0 { parts.append("\(silent) silent") }
        return "\(world) ranks: " + parts.joined(separator: ", ")
    }

    private func noteSlowBarriers(into lines: inout [String], elapsed: Double) {
        guard let now = model.lastTs else { return }
        for barrier in model.openBarriersByN where !announcedSlowBarriers.contains(barrier.n) {
            guard let since = barrier.since, now - since >= PlainLiveView.slowBarrier else { continue }
            let missing = barrier.missingRanks(world: model.world)
            guard !missing.isEmpty else { continue }
            announcedSlowBarriers.insert(barrier.n)
            lines.append(stamp(elapsed) + "barrier \(barrier.n)\(barrier.name.map { " (\($0))" } ?? "") open for \(Int(now - since)) s, waiting for \(RankList.text(missing))")
        }
    }
}
