import Foundation
import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI
import Testing

/// The dashboard in each state the demo shows, at every size users have. The logs in `DemoLogs`
/// are real `ranktop demo --headless --scenario NAME --log` runs (4 ranks); each state is the
/// log up to a moment of it, as a live view would have it then.
@Suite struct DemoStateSnapshotTests {
    struct State: CustomStringConvertible, Sendable {
        var name: String
        var log: String
        /// Seconds after the log's first event; nil: its last.
        var at: Double?
        /// What the screen must show in this state, at every size.
        var shows: [String]
        var description: String { name }
    }

    static let states: [State] = [
        State(name: "training", log: "default", at: 7.03, shows: ["#2 save_checkpoint", "3/4 arrived"]),
        State(name: "straggler", log: "straggler", at: 9.5, shows: ["RANKS 4"]),
        // The culprit's row says where its stack has it, not nothing.
        State(name: "hang", log: "hang", at: 30, shows: ["stalled", "save_checkpoint", "missing", "│   3 vm   stalled", "in save_checkpoint"]),
        State(name: "collective-hang", log: "collective-hang", at: 30, shows: ["stalled", "all_reduce #4"]),
        State(name: "crash", log: "crash", at: nil, shows: ["failed", "code 1: RuntimeError"]),
        State(name: "mismatch", log: "mismatch", at: 3.34, shows: ["MISMATCH"]),
        State(name: "ended", log: "default", at: nil, shows: ["exited"]),
    ]

    static let sizes = [Size(width: 80, height: 24), Size(width: 120, height: 40), Size(width: 160, height: 45),
                        Size(width: 200, height: 50), Size(width: 300, height: 80)]

    static func events(_ log: String) throws -> [Event] {
        let url = try #require(Bundle.module.url(forResource: log, withExtension: "jsonl", subdirectory: "DemoLogs"))
        var events: [Event] = []
        try EventLogReader.read(path: url.path) { events.append($0) }
        return events
    }

    static func render(_ state: State, size: Size) throws -> String {
        let events = try events(state.log)
        let first = try #require(events.first?.ts)
        let now = state.at.map { first + $0 } ?? (events.map(\.ts).max() ?? first)
        var model = RunModel(limits: .live)
        for event in events where event.ts <= now { model.apply(event) }
        var dashboard = Fixtures.dashboard()
        return dashboard.render(model: model, now: now, size: size).text()
    }

    @Test(arguments: states)
    func demoStateAtEverySize(_ state: State) throws {
        for size in Self.sizes {
            let text = try Self.render(state, size: size)
            for needle in state.shows {
                #expect(text.contains(needle), "\(state.name) at \(size.width)x\(size.height) shows \(needle)")
            }
            let heading = text.split(separator: "\n").first { $0.contains("RANK NODE") }.map(String.init) ?? ""
            // A column with nothing to say for any row is left out, and its width goes to WHERE.
            if state.name == "hang" || state.name == "crash" { #expect(!heading.contains("IT/S") && !heading.contains("ETA"), "\(heading)") }
            if state.name == "training", size.width >= 120 { #expect(heading.contains("IT/S") && heading.contains("ETA"), "\(heading)") }
            try Golden.check(text, named: "demo-\(state.name)-\(size.width)x\(size.height)")
        }
    }

    @Test(arguments: [Size(width: 80, height: 24), Size(width: 120, height: 40)])
    func ranks4096AtSmallerSizes(_ size: Size) throws {
        let text = Fixtures.render(Fixtures.large, now: SyntheticRun.large.now, width: size.width, height: size.height).text()
        #expect(text.contains("missing"))
        try Golden.check(text, named: "large-4096-\(size.width)x\(size.height)")
    }
}
