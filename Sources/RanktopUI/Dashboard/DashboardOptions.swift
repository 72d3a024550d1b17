import RanktopModel

/// What the dashboard knows about where it runs: the source, who owns the run, how to draw.
public struct DashboardOptions: Sendable {
    /// The source's label: an address, or a log path for a replay.
    public var label: String
    /// The event log the run is written to, when there is one.
    public var logPath: String?
    /// The dashboard started the run (demo, launch, run): quitting ends it, so `q` asks first.
    public var ownsRun: Bool
    /// Triggers and stack requests can reach the run (false for a replayed log).
    public var canControl: Bool
    public var glyphs: Glyphs
    public var theme: Theme
    /// Seconds east of UTC for clock times in the events log.
    public var utcOffset: Int
    /// A rank not heard from for this long is stale (heartbeats come every 2 s).
    public var staleAfter: Double
    /// When a rank alive but not progressing counts as stalled (`--stall-after`).
    public var stallPolicy: StallPolicy = .standard
    /// A replayed log, driven on its own clock: the replay keys and the timeline are shown.
    public var replay = false

    public init(
        label: String, logPath: String? = nil, ownsRun: Bool = false, canControl: Bool = true,
        glyphs: Glyphs = .unicode, theme: Theme = BuiltinThemes.defaultTheme, utcOffset: Int = 0, staleAfter: Double = 6
    ) {
        self.label = label
        self.logPath = logPath
        self.ownsRun = ownsRun
        self.canControl = canControl
        self.glyphs = glyphs
        self.theme = theme
        self.utcOffset = utcOffset
        self.staleAfter = staleAfter
    }
}
