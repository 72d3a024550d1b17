import RanktopProtocol

/// The live view of a run that `launch`, `run` and `demo` open without `--headless`.
/// (The dashboard issue points this at the ncurses dashboard; nothing else changes.)
enum LiveView {
    /// Whether the view takes over the terminal; the ranks' output then goes to files.
    static let takesOverTerminal = false

    /// Shows the run from `source` until it ends (the source finishes) or the user quits.
    /// `ownsRun`: quitting stops the run (the caller stops the ranks when this returns early).
    static func show(source: any RunSource, logPath: String, ownsRun: Bool) async {
        await PlainLiveView(source: source, logPath: logPath, ownsRun: ownsRun).run()
    }
}
