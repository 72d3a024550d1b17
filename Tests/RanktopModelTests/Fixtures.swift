import RanktopReport
import Foundation
import RanktopModel
import RanktopProtocol

/// Reads the golden logs beside this file.
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { folder.appendingPathComponent("\(name).jsonl").path }

    static func events(_ name: String) throws -> [Event] {
        var events: [Event] = []
        try EventLogReader.read(path: path(name)) { events.append($0) }
        return events
    }

    static func report(_ name: String) throws -> RunReport {
        var model = RunModel()
        let summary = try EventLogReader.read(path: path(name)) { model.apply($0) }
        return RunReport(model: model, read: summary)
    }

    static func model(_ events: [Event], limits: RunModel.Limits = .report) -> RunModel {
        var model = RunModel(limits: limits)
        for event in events { model.apply(event) }
        return model
    }
}

/// Builds event sequences for reducer tests.
struct Script {
    var events: [Event] = []
    var t = 1000.0
    var seq: [Int: Int] = [:]

    mutating func at(_ dt: Double) { t += dt }

    mutating func emit(_ rank: Int, _ body: EventBody, seqOverride: Int? = nil) {
        let s = seqOverride ?? seq[rank, default: 0]
        seq[rank] = s + 1
        events.append(Event(rank: rank, ts: t, seq: s, body))
    }

    mutating func hello(_ ranks: Range<Int>, world: Int, pid: Int = 100, restart: Int? = nil, timeout: Double? = nil) {
        for r in ranks {
            seq[r] = 0
            emit(r, .hello(Hello(run: "test", world: world, localRank: r, localWorld: world, node: "node-\(r / 2)", pid: pid + r, runtime: "test", timeout: timeout, restart: restart)))
        }
    }
}
