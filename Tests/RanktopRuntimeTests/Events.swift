import RanktopTestSupport
import Foundation
import RanktopProtocol

/// One line as a protocol event, or nil when it is not one.
func decodeEvent(_ line: String) -> Event? {
    var decoder = EventDecoder()
    return try? decoder.decode(line).get()
}

extension Event {
    var barrierEnter: BarrierEnter? {
        if case let .barrierEnter(enter) = body { enter } else { nil }
    }

    var phaseEnter: PhaseEnter? {
        if case let .phaseEnter(enter) = body { enter } else { nil }
    }

    var triggerSet: TriggerSet? {
        if case let .triggerSet(set) = body { set } else { nil }
    }

    /// (ordinal, fired) of a `trigger.check`.
    var triggerCheck: (n: Int, fired: Bool)? {
        if case let .triggerCheck(n, fired) = body { (n, fired) } else { nil }
    }

    var barrierExitOrdinal: Int? {
        if case let .barrierExit(n) = body { n } else { nil }
    }
}
