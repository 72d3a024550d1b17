/// The panels `Tab` moves between, in that order.
public enum PanelID: String, CaseIterable, Sendable, Hashable {
    case ranks, barriers, phases, triggers, events

    public var title: String {
        switch self {
        case .ranks: "RANKS"
        case .barriers: "WAITS"
        case .phases: "PHASES"
        case .triggers: "TRIGGERS"
        case .events: "EVENTS"
        }
    }

    var next: PanelID {
        let all = PanelID.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    var previous: PanelID {
        let all = PanelID.allCases
        return all[(all.firstIndex(of: self)! + all.count - 1) % all.count]
    }
}

/// What covers the panels, if anything.
public enum Overlay: Sendable, Equatable {
    case help
    case detail(rank: Int)
    /// Every rank's stack, grouped where identical (`S`).
    case stacks(StacksOverlay)
    /// Step time, loss and waits over the run (`c`).
    case charts
    /// The early-stop dialog, with the reason being typed.
    case triggerDialog(TextField)
    case confirmQuit
    /// The `/` prompt for a panel's filter; `previous` is restored by Esc.
    case filter(PanelID, TextField, previous: String)
}

/// Table or compact grid for the ranks panel; `auto` picks the grid when rows do not fit.
public enum RankViewMode: Sendable, Equatable {
    case auto, table, grid
}

/// A short message in the footer (an error, or what an action did), shown until `until`.
public struct StatusMessage: Sendable, Equatable {
    public var text: String
    public var isError: Bool
    public var until: Double
    /// A hint about the running run (what a scenario shows, which key stops it): gone once the
    /// run is over, when it no longer applies.
    public var whileRunning = false
}

extension [PanelID] {
    /// The panel after `panel` in this order, wrapping around.
    func after(_ panel: PanelID) -> PanelID {
        guard let i = firstIndex(of: panel) else { return first ?? panel }
        return self[(i + 1) % count]
    }

    func before(_ panel: PanelID) -> PanelID {
        guard let i = firstIndex(of: panel) else { return first ?? panel }
        return self[(i + count - 1) % count]
    }
}
