import Foundation
import RanktopModel
import RanktopProtocol
import RanktopSynthetic
import RanktopUI

// Frame build time of the dashboard: the synthetic run at 64 and 4096 ranks folded into the
// model, then the same frame rendered many times at a given terminal size. Run it in release:
//   swift run -c release ranktop-ui-bench
// `--write-log PATH --ranks N` writes the synthetic run as an event log instead (for replay).

struct Arguments {
    var writeLog: String?
    var ranks = 8
    var frames = 300
}

func parseArguments() -> Arguments {
    var args = Arguments()
    var it = CommandLine.arguments.dropFirst().makeIterator()
    while let arg = it.next() {
        switch arg {
        case "--write-log": args.writeLog = it.next()
        case "--ranks": args.ranks = Int(it.next() ?? "") ?? args.ranks
        case "--frames": args.frames = Int(it.next() ?? "") ?? args.frames
        default:
            FileHandle.standardError.write("usage: ranktop-ui-bench [--frames N] | --write-log PATH [--ranks 8|64|4096]\n".data(using: .utf8)!)
            exit(2)
        }
    }
    return args
}

func scenario(ranks: Int) -> SyntheticRun {
    switch ranks {
    case 4096: .large
    case 64: .sixtyFour
    default: .eight
    }
}

func writeLog(_ path: String, ranks: Int) throws {
    // The log writer appends; a fresh log is what is asked for.
    try? FileManager.default.removeItem(atPath: path)
    let writer = try EventLogWriter(path: path)
    for event in scenario(ranks: ranks).events() { try writer.append(event) }
    try writer.flush()
    print("wrote \(writer.linesWritten) events of the \(ranks)-rank synthetic run to \(path)")
}

struct Case {
    var ranks: Int
    var size: Size
    /// Keys pressed before timing: "g" for the table instead of the grid, "s" to sort by lag.
    var keys: String
    var label: String
}

func measure(_ run: SyntheticRun, _ model: RunModel, _ c: Case, frames: Int) -> (median: Double, p99: Double, mean: Double) {
    var dashboard = Dashboard(options: DashboardOptions(label: "bench"))
    _ = dashboard.render(model: model, now: run.now, size: c.size)
    for key in c.keys { _ = dashboard.handle(.key(.char(key)), model: model, now: run.now) }
    var times: [Double] = []
    var checksum = 0
    for i in 0..<frames {
        let start = DispatchTime.now().uptimeNanoseconds
        let canvas = dashboard.render(model: model, now: run.now + Double(i) * 0.1, size: c.size)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        checksum &+= Int(canvas[c.size.width / 2, c.size.height / 2].scalar.value)
    }
    times.sort()
    precondition(checksum != 0)
    return (times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)], times.reduce(0, +) / Double(times.count))
}

let arguments = parseArguments()
if let path = arguments.writeLog {
    do { try writeLog(path, ranks: arguments.ranks) } catch {
        FileHandle.standardError.write("ranktop-ui-bench: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
    exit(0)
}
var models: [Int: RunModel] = [:]
for ranks in [64, 4096] {
    let events = scenario(ranks: ranks).events()
    let start = DispatchTime.now().uptimeNanoseconds
    var model = RunModel(limits: .live)
    for event in events { model.apply(event) }
    let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    print(String(format: "model: %d ranks, %d events folded in %.1f ms", ranks, events.count, ms))
    models[ranks] = model
}
let cases = [
    Case(ranks: 64, size: Size(width: 120, height: 40), keys: "", label: "grid"),
    Case(ranks: 64, size: Size(width: 200, height: 50), keys: "g", label: "table"),
    Case(ranks: 4096, size: Size(width: 200, height: 50), keys: "", label: "grid"),
    Case(ranks: 4096, size: Size(width: 200, height: 50), keys: "gs", label: "table, sorted by lag"),
]
print("frame build time, \(arguments.frames) frames each (ms)")
print("ranks  terminal  median    p99   mean  view")
for c in cases {
    let r = measure(scenario(ranks: c.ranks), models[c.ranks]!, c, frames: arguments.frames)
    print(String(format: "%5d  %3dx%-4d  %6.3f %6.3f %6.3f  %@", c.ranks, c.size.width, c.size.height, r.median, r.p99, r.mean, c.label))
}
