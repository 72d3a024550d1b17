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

func measure(_ run: SyntheticRun, size: Size, frames: Int) -> (median: Double, p99: Double, mean: Double) {
    var model = RunModel(limits: .live)
    for event in run.events() { model.apply(event) }
    var dashboard = Dashboard(options: DashboardOptions(label: "bench"))
    var times: [Double] = []
    var checksum = 0
    for i in 0..<frames {
        let start = DispatchTime.now().uptimeNanoseconds
        let canvas = dashboard.render(model: model, now: run.now + Double(i) * 0.1, size: size)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        checksum &+= Int(canvas[size.width / 2, size.height / 2].scalar.value)
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
print("frame build time, \(arguments.frames) frames each (ms)")
print("ranks  terminal  median    p99   mean")
for (ranks, size) in [(64, Size(width: 120, height: 40)), (64, Size(width: 200, height: 50)), (4096, Size(width: 200, height: 50))] {
    let r = measure(scenario(ranks: ranks), size: size, frames: arguments.frames)
    print(String(format: "%5d  %3dx%-4d  %6.3f %6.3f %6.3f", ranks, size.width, size.height, r.median, r.p99, r.mean))
}
