import RanktopModel
import RanktopUI

/// The replay dashboard over a model, in every view the UI tests render: the ranks table and
/// grid, a rank's detail, help, a ranks filter and an events filter, ASCII and monochrome.
///
/// Focus only moves a highlight (every dock panel is drawn in every view), so one render per
/// view is enough; rendering is most of the time an input takes.
enum DashboardRenders {
    static let sizes = [Size(width: 80, height: 24), Size(width: 200, height: 50)]

    /// Keys typed before each render, one view each, on the same dashboard.
    static let views: [[Key]] = [
        [],
        [.char("g")],
        [.down, .down, .enter],
        [.escape, .char("g"), .char("?")],
        [.escape, .char("s"), .char("s"), .char("/"), .char("1"), .enter],
        [.tab, .tab, .tab, .tab, .char("/"), .char("o"), .enter, .down, .enter],
    ]

    static func renderEveryView(of model: RunModel) {
        let end = model.lastTs ?? 0
        for size in sizes {
            var dashboard = Dashboard(options: options(glyphs: .unicode, theme: BuiltinThemes.defaultTheme))
            for keys in views {
                for key in keys { _ = dashboard.handle(.key(key), model: model, now: end) }
                _ = dashboard.render(model: model, now: end, size: size).text()
            }
            // An hour after the log's end every rank is stale; ASCII and monochrome take other paths.
            var plain = Dashboard(options: options(glyphs: .ascii, theme: BuiltinThemes.monochrome))
            _ = plain.render(model: model, now: end + 3600, size: size).text()
        }
    }

    private static func options(glyphs: Glyphs, theme: Theme) -> DashboardOptions {
        DashboardOptions(label: "replay", logPath: "fuzz.jsonl", ownsRun: false, canControl: false, glyphs: glyphs, theme: theme)
    }
}
