import RanktopModel
import RanktopProtocol

/// One-line descriptions of events, for the events log and a rank's recent events.
public enum EventText {
    /// On one line: a rank's error or log message may hold a whole traceback.
    public static func describe(_ event: Event) -> String {
        Format.oneLine(rawDescription(event))
    }

    static func rawDescription(_ event: Event) -> String {
        switch event.body {
        case let .hello(h):
            var text = "hello run \(h.run) world \(h.world) node \(h.node) pid \(h.pid) \(h.runtime)"
            if let t = h.timeout { text += " timeout " + Format.duration(t) }
            if let r = h.restart, r > 0 { text += " restart \(r)" }
            return text
        case let .progress(p):
            var text = "step \(p.step)" + (p.total.map { "/\($0)" } ?? "")
            for metric in p.metrics.prefix(4) { text += " \(metric.name)=" + Format.metric(metric.value) }
            return text
        case let .barrierEnter(b):
            var text = "enter #\(b.n)"
            if let name = b.name { text += " " + name }
            if let site = b.site { text += " at " + site }
            if let phase = b.phase { text += " in " + phase }
            return text
        case let .barrierExit(n):
            return "exit #\(n)"
        case let .phaseEnter(p):
            return "phase \(p.name) begins" + (p.main ? " (main)" : "")
        case let .phaseExit(name):
            return "phase \(name) ends"
        case let .triggerSet(t):
            var text = "trigger set (\(t.source.rawValue))"
            if let id = t.id { text += " " + id }
            if let reason = t.reason { text += ": " + reason }
            return text
        case let .triggerCheck(n, fired):
            return "check #\(n)" + (fired ? " FIRED" : "")
        case let .log(level, msg):
            return "\(level.rawValue): \(msg)"
        case .heartbeat:
            return "heartbeat"
        case let .stack(id, frames):
            return "stack \(id): \(frames.count) frames" + (frames.last.map { ", in " + $0 } ?? "")
        case let .collectiveEnter(c):
            var text = "\(c.op) #\(c.n)"
            if c.group != "world" { text += " [\(c.group)]" }
            if let label = c.label { text += " " + label }
            if c.isAsync == true { text += " async" }
            if let site = c.site { text += " at " + site }
            return text
        case let .collectiveExit(c):
            return "\(c.op ?? "collective") #\(c.n) done" + (c.group != "world" ? " [\(c.group)]" : "")
        case let .bye(code, error):
            if let error { return "bye: error: " + error + (code.map { " (code \($0))" } ?? "") }
            return "bye" + (code.map { " (code \($0))" } ?? "")
        case let .lost(reason):
            return "lost: " + reason
        case let .unreachable(reason):
            return "unreachable: " + reason
        case let .dropped(count):
            return "dropped \(count) events"
        case let .discarded(count, reason):
            return "collector discarded \(count) events" + (reason.map { ": " + $0 } ?? "")
        case let .inject(injection):
            var text = "inject \(injection.id)"
            if let by = injection.by { text += " by " + by }
            if let reason = injection.reason { text += ": " + reason }
            return text
        case let .stop(stop):
            var text = "stop: the launcher sends \(stop.signal) to the ranks"
            if let reason = stop.reason { text += " (\(reason))" }
            if let by = stop.by { text += " for " + by }
            return text
        case let .collector(record):
            return record.state == .start ? "collector started (pid \(record.pid) on \(record.node))" : "collector ended cleanly (pid \(record.pid))"
        }
    }

    /// The theme element an event's line is drawn in.
    static func role(_ event: Event) -> ThemeRole {
        switch event.body {
        case .barrierEnter, .barrierExit, .collectiveEnter, .collectiveExit: .barrier
        case .phaseEnter, .phaseExit: .phase
        case .triggerSet, .inject: .trigger
        case let .triggerCheck(_, fired): fired ? .trigger : .dim
        case let .log(level, _): level == .error ? .error : level == .warning ? .warning : .text
        case let .bye(code, error): (error != nil || (code ?? 0) != 0) ? .stateFailed : .stateExited
        case .lost: .stateLost
        case .stop, .unreachable: .warning
        case .dropped: .warning
        case .discarded: .error
        case .heartbeat, .collector: .dim
        case .hello, .progress, .stack: .text
        }
    }

    /// `r3` for a rank, `run` for the collector's run-wide events.
    static func who(_ event: Event) -> String {
        event.rank >= 0 ? "r\(event.rank)" : "run"
    }
}

extension Event {
    /// The call site a barrier or collective entry names.
    var site: String? {
        switch body {
        case let .barrierEnter(b): b.site
        case let .collectiveEnter(c): c.site
        default: nil
        }
    }
}
