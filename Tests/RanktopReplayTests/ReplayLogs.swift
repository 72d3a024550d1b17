import Foundation
import RanktopCollector
import RanktopProtocol
import RanktopSynthetic
import RanktopUI

/// The dashboard drives a timeline in these tests as `ranktop replay` does.
extension ReplayTimeline: ReplayDriver {}

/// A synthetic run written to a log in a scratch directory, with the events it holds.
struct ReplayLog {
    let path: String
    let events: [Event]

    /// `garbage`: lines that are not events, written after every `garbage`-th event (0: none).
    init(_ run: SyntheticRun = .eight, garbage: Int = 0) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ranktop-replay-\(UInt64.random(in: 0..<UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        path = dir.appendingPathComponent("run.jsonl").path
        let written = run.events()
        var bytes: [UInt8] = []
        for (i, event) in written.enumerated() {
            EventEncoder.encode(event, into: &bytes)
            if garbage > 0, i % garbage == garbage - 1 { bytes += Array("{not json at all\n".utf8) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        // The events as the file holds them: timestamps are written to the microsecond.
        var read: [Event] = []
        try EventLogReader.read(path: path) { read.append($0) }
        events = read
    }

    /// The events a replay stopped at `time` has folded: every one until the first that would
    /// move the run's clock (its newest timestamp) past `time`.
    func prefix(upTo time: Double) -> ArraySlice<Event> {
        var clock = -Double.infinity
        for (i, event) in events.enumerated() {
            clock = max(clock, event.ts)
            if clock > time { return events[..<i] }
        }
        return events[...]
    }
}
