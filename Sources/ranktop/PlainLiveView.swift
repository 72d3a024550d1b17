#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
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
        // One snapshot for every line of this take: the model's time, not this process's clock.
        let snapshot = RunSnapshot(model: model, now: model.lastTs ?? 0)
        noteSlowBarriers(snapshot, into: &lines, elapsed: elapsed)
        let status = statusLine(snapshot)
        if status != lastStatus, elapsed - lastStatusTime >= 1 || finished {
            lines.append(stamp(elapsed) + status)
            lastStatus = status
            lastStatusTime = elapsed
        }
        if finished { lines.append(stamp(elapsed) + "run ended: " + countsByStatus(snapshot)) }
        return (lines, finished)
    }

    private func stamp(_ elapsed: Double) -> String {
        let text = Format.fixed(elapsed, decimals: 1) + "s"
        return "[" + String(repeating: " ", count: max(0, 7 - text.count)) + text + "] "
    }

    private func statusLine(_ snapshot: RunSnapshot) -> String {
        var parts: [String] = []
        if let step = snapshot.stepMax {
            let total = model.ranks.compactMap(\.total).max()
            let slowest = snapshot.stepMin.flatMap { $0 != step ? " (slowest \($0))" : nil } ?? ""
            parts.append("step \(step)\(total.map { "/\($0)" } ?? "")\(slowest)")
        }
        parts.append(countsByStatus(snapshot))
        if let wait = snapshot.openWaits.first, !wait.missing.isEmpty, !wait.arrived.isEmpty {
            parts.append("barrier \(wait.n)\(wait.name.map { " (\($0))" } ?? "") waiting for \(ranksText(wait.missing))")
        }
        if let phase = model.ranks.compactMap(\.phase).first { parts.append("phase \(phase.name)") }
        if model.droppedTotal > 0 { parts.append("\(model.droppedTotal) dropped") }
        return parts.joined(separator: " | ")
    }

    private func countsByStatus(_ snapshot: RunSnapshot) -> String {
        guard !model.ranks.isEmpty else { return "no rank has reported yet" }
        // Conditions as the snapshot judges them, in a fixed order; a live rank counts as its
        // state, not stale, since this view says when it is behind on its own.
        let parts = RankCondition.allCases.compactMap { condition -> String? in
            let count = snapshot.count(condition)
            return count > 0 ? "\(count) \(condition.label)" : nil
        }
        return "\(snapshot.world) ranks: " + parts.joined(separator: ", ")
    }

    private func ranksText(_ ranks: RankSet) -> String {
        Format.ranksLabelled(ranks, limit: 12)
    }

    private func noteSlowBarriers(_ snapshot: RunSnapshot, into lines: inout [String], elapsed: Double) {
        for wait in snapshot.openWaits where !announcedSlowBarriers.contains(wait.n) {
            guard snapshot.now - wait.since >= PlainLiveView.slowBarrier, !wait.missing.isEmpty else { continue }
            announcedSlowBarriers.insert(wait.n)
            lines.append(stamp(elapsed) + "barrier \(wait.n)\(wait.name.map { " (\($0))" } ?? "") open for \(Int(snapshot.now - wait.since)) s, waiting for \(ranksText(wait.missing))")
        }
    }
}
