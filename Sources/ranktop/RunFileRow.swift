import RanktopCollector
import RanktopModel
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `ls` says of a run found by its run file (a collector on a socket): whether its
/// collector runs, and, when it is gone, how many of the ranks the log names still run here.
struct RunFileRow {
    var path: String
    var file: RunFile
    var collectorAlive: Bool
    var world: Int?
    var ranks = 0
    var alive = 0
    var lastTs: Double?
    var stalled = false

    /// A live collector's log is read only while it is small: `ls` must answer at once, and
    /// `attach` shows a large run anyway. A dead collector's is always read, for its live ranks:
    /// whole while small, else its start and its end (`deadLogGlanceBytes`).
    static let liveLogReadLimit: Int64 = 64 << 20
    /// Of a dead collector's larger log, its first and its last this many bytes: the ranks' hellos
    /// are at its start, where each ended up at its end, and `ls` answers at once (read whole, a
    /// 1.16 GB log took 2.9 s, docs/benchmarks.md). A rank whose `bye` lies between looks still
    /// running, so its process is checked, as for any rank the log says runs.
    static let deadLogGlanceBytes = 32 << 20

    static func read(path: String, file: RunFile) -> RunFileRow {
        var row = RunFileRow(path: path, file: file, collectorAlive: file.collectorAlive)
        var status = stat()
        let size = stat(file.log, &status) == 0 ? Int64(status.st_size) : 0
        if row.collectorAlive, size > liveLogReadLimit { return row }
        var model = RunModel(limits: .report)
        let glance = Int64(deadLogGlanceBytes)
        if !row.collectorAlive, size > 2 * glance {
            _ = try? EventLogReader.read(path: file.log, bytes: 0..<deadLogGlanceBytes) { model.apply($0) }
            _ = try? EventLogReader.read(path: file.log, bytes: Int(size - glance)..<Int(size)) { model.apply($0) }
        } else {
            _ = try? EventLogReader.read(path: file.log) { model.apply($0) }
        }
        let running = model.ranks.filter { !$0.status.isTerminal }
        row.world = model.world > 0 ? model.world : nil
        row.ranks = model.ranks.count
        // A rank's process can only be checked on this host; one elsewhere counts as alive while
        // its log says it runs.
        row.alive = running.filter { info in
            guard let pid = info.pid else { return false }
            return CollectorProcess.mayBeRunning(pid: pid, node: info.node ?? "")
        }.count
        row.lastTs = model.lastTs
        row.stalled = RunSnapshot(model: model, now: WallClock.now).stall != nil
        return row
    }

    var state: String {
        if collectorAlive { return "collector up" }
        return alive == 0 ? "collector gone, no rank alive" : "collector gone, \(alive) rank\(alive == 1 ? "" : "s") alive"
    }

    var cells: [String] {
        let now = WallClock.now
        return [
            file.run, file.run, world.map(String.init) ?? "-", ranks == 0 ? "-" : "\(alive)/\(ranks)",
            Format.duration(max(now - file.written, 0)),
            lastTs.map { Format.duration(max(now - $0, 0)) + " ago" } ?? "-", state,
        ]
    }

    var json: JSONValue {
        .object([
            ("name", .string(file.run)), ("path", .string(path)), ("run", .string(file.run)),
            ("world", world.map(JSONValue.int) ?? .null), ("ranks", .int(ranks)), ("alive", .int(alive)),
            ("created", .double(file.written)), ("last_ts", lastTs.map(JSONValue.double) ?? .null),
            ("stalled", .bool(stalled)), ("ended", .bool(false)),
            ("collector", .string(collectorAlive ? "up" : "gone")), ("collector_pid", .int(file.pid)),
            ("log", .string(file.log)), ("listen", .array(file.listen.map { .string($0.description) })),
        ])
    }
}
