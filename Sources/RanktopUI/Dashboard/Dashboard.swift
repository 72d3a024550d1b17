import RanktopModel

/// The dashboard's state between frames (focus, selection, sort, filters, overlays, pause) and
/// the two things it does: `render` a model into a canvas, and `handle` an input, returning what
/// the runner should do. No terminal here: the runner owns the terminal and the run source.
public struct Dashboard: Sendable {
    public var options: DashboardOptions
    public internal(set) var focus: PanelID = .ranks
    public internal(set) var sort: RankSort = .rank
    /// `I`: the sort's order reversed (ties still in rank order).
    public internal(set) var sortReversed = false
    public internal(set) var filter = RankFilter()
    public internal(set) var eventFilter = ""
    /// `r`: the events panel leaves out progress and trigger checks that did not fire.
    public internal(set) var hideRoutineEvents = false
    /// The selected rank by number, so it stays selected when the order changes.
    public internal(set) var selectedRank: Int?
    public internal(set) var viewMode: RankViewMode = .auto
    public internal(set) var overlay: Overlay?
    /// The model as it was when `p` paused the display, and the clock then.
    public internal(set) var paused: (model: RunModel, now: Double)?
    public internal(set) var status: StatusMessage?
    /// Events per second, measured by the runner.
    public var eventsPerSecond: Double = 0
    /// Set when the source ended: what to say in the header.
    public var ended: String?
    /// A replay's position and pace, for the timeline line (nil live).
    public var replayBar: ReplayBar?

    var scroll: [PanelID: Int] = [:]
    /// The events panel follows the newest event until the user scrolls up.
    var eventsFollow = true
    var selectedEvent: Int?
    /// Which panel a collapsed dock column shows.
    var dockChoice: [Int: PanelID] = [:]
    /// The last stack request `d` made of each rank.
    public internal(set) var stackRequests: [Int: StackRequest] = [:]
    /// The `S` view's groups, kept while no stack changes.
    var stacksCache: StacksView.Cache?
    /// What the last frame showed where: keys and the mouse act on what the user sees.
    var frame = FrameGeometry()
    /// The wall clock at the last input or frame.
    var wall: Double = 0

    public init(options: DashboardOptions) {
        self.options = options
    }

    /// Shows `text` in the footer for `seconds` from `now` (wall clock).
    /// `whileRunning`: the message is dropped as soon as the run is over.
    public mutating func showStatus(_ text: String, isError: Bool = false, now: Double, seconds: Double = 6, whileRunning: Bool = false) {
        status = StatusMessage(text: text, isError: isError, until: now + seconds, whileRunning: whileRunning)
    }

    /// Records that a stack request for `rank` went out at `now`.
    public mutating func noteStackRequested(rank: Int, now: Double) {
        stackRequests[rank] = StackRequest(at: now)
    }

    /// Records that the request for `rank` did not reach it, and says so in the footer.
    public mutating func noteStackFailed(rank: Int, reason: String, wall: Double) {
        stackRequests[rank, default: StackRequest(at: wall)].failure = reason
        showStatus("could not ask rank \(rank) for its stack: \(reason)", isError: true, now: wall)
    }

    /// Whether the display is frozen by `p`.
    public var isPaused: Bool { paused != nil }

    /// The next time the screen would change with no new event (ages and clocks tick, a
    /// status message expires), or nil when nothing on screen depends on time (paused).
    public func nextTimedChange(after now: Double) -> Double? {
        if isPaused { return status.map { max(now, $0.until) } }
        var next = now + 1
        if let status, status.until > now { next = min(next, status.until) }
        return next
    }
}

/// What the last frame put where.
struct FrameGeometry: Sendable {
    var size = Size(width: 0, height: 0)
    var world = 0
    var panels: [(PanelID, Rect)] = []
    /// The dock's columns and their panels, as the last frame laid them out.
    var dockSlots: [[PanelID]] = []
    /// The visible ranks in display order.
    var rankOrder: [Int] = []
    var table: TableRows?
    var grid: GridCells?
    /// Lines each scrolling panel has, and how many it shows.
    var contentLines: [PanelID: Int] = [:]
    var visibleLines: [PanelID: Int] = [:]
    /// The events panel's rows: y on screen -> index in the filtered events.
    var eventRows: [Int: Int] = [:]
    var eventRanks: [Int] = []

    struct TableRows: Sendable {
        var rows: Rect
        var scroll: Int
    }

    struct GridCells: Sendable {
        var x: Int
        var y: Int
        var columns: Int
        var visibleRows: Int
        var firstRow: Int
    }

    func panel(at x: Int, _ y: Int) -> PanelID? {
        panels.first { $0.1.contains(x: x, y: y) }?.0
    }
}
