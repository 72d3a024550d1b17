import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI

/// Models and dashboards for tests, from the synthetic runs.
enum Fixtures {
    static func model(_ run: SyntheticRun) -> RunModel {
        var model = RunModel(limits: .live)
        for event in run.events() { model.apply(event) }
        return model
    }

    static let eight = model(.eight)
    static let large = model(.large)

    static func dashboard(theme: Theme = BuiltinThemes.defaultTheme, glyphs: Glyphs = .unicode, ownsRun: Bool = false, canControl: Bool = true) -> Dashboard {
        Dashboard(options: DashboardOptions(
            label: "unix:/run/user/1000/ranktop/r42.sock", logPath: "/tmp/ranktop-r42.jsonl", ownsRun: ownsRun,
            canControl: canControl, glyphs: glyphs, theme: theme, utcOffset: 0
        ))
    }

    static func render(_ model: RunModel = eight, now: Double = SyntheticRun.eight.now, width: Int, height: Int, dashboard: Dashboard? = nil) -> Canvas {
        var d = dashboard ?? self.dashboard()
        return d.render(model: model, now: now, size: Size(width: width, height: height))
    }

    static func event(_ rank: Int, _ ts: Double, _ body: EventBody) -> Event {
        Event(rank: rank, ts: ts, body)
    }

    static func hello(_ rank: Int, world: Int, ts: Double = SyntheticRun.t0, node: String = "gpu-1") -> Event {
        Event(rank: rank, ts: ts, seq: 0, .hello(Hello(run: "t", world: world, localRank: rank, localWorld: world, node: node, pid: 100 + rank, runtime: "test")))
    }
}
