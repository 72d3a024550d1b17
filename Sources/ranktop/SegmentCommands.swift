import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import RanktopModel
import RanktopProtocol
import RanktopCollector

/// `ranktop ls`: this host's shared-memory segments, each read as `report shm://NAME` would.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List this host's runs: shared-memory segments, and your collectors (running, or gone with ranks alive).",
        discussion: """
        One line per segment in /dev/shm (or $RANKTOP_SHM_DIR): its name, the run, the world \
        size, how many rank processes are alive of those that wrote to it, its age, when its \
        last event was, and whether the run is stalled. A run that ended cleanly removes its \
        segment; the ones left are running, or ended badly: `ranktop attach shm://NAME` or \
        `ranktop report shm://NAME` shows them, `ranktop rm NAME` removes one.

        Then one line per collector of yours on a socket (`launch`, `run`, `demo`, `serve`): \
        `collector up`, or `collector gone, N ranks alive` when it died (`kill -9`, OOM) and \
        left its ranks training. `ranktop serve --resume RUN` restarts it on the same \
        addresses and log. JSON rows of these add "collector" ("up" or "gone"), \
        "collector_pid", "log" and "listen".

          ranktop ls
          ranktop ls --json

        Exit status: 0, also when there is no segment.
        """
    )

    @Flag(name: .long, help: "Print JSON: [{\"name\",\"path\",\"run\",\"world\",\"ranks\",\"alive\",\"created\",\"last_ts\",\"stalled\",\"ended\"}].")
    var json = false

    func run() async throws {
        try await reportingFailures {
            var rows: [SegmentRow] = []
            for name in ShmSegment.names() {
                if let row = await SegmentRow.read(name) { rows.append(row) }
            }
            // A run recording to shared memory is its segment's row already.
            let segments = Set(rows.map(\.name))
            let runs = RunFile.all().filter { entry in
                !segments.contains(entry.file.run) && !entry.file.listen.contains(where: \.isSharedMemory)
            }.map { RunFileRow.read(path: $0.path, file: $0.file) }
            if json {
                Console.say(JSONValue.array(rows.map(\.json) + runs.map(\.json)).serialized)
                return
            }
            guard !rows.isEmpty || !runs.isEmpty else {
                Console.warn("no ranktop segments in \(ShmSegment.directory), and no collector of yours in \(UnixSocketPath.defaultDirectory())")
                return
            }
            let now = WallClock.now
            let header = ["NAME", "RUN", "WORLD", "ALIVE", "AGE", "LAST EVENT", "STATE"]
            let table = rows.map { row in
                [
                    row.name, row.run ?? "-", row.world.map(String.init) ?? "-", "\(row.alive)/\(row.ranks)",
                    Format.duration(max(now - row.created, 0)),
                    row.lastTs.map { Format.duration(max(now - $0, 0)) + " ago" } ?? "-", row.state,
                ]
            } + runs.map(\.cells)
            for line in SegmentRow.columns([header] + table) { Console.say(line) }
        }
    }
}

/// `ranktop rm NAME...`: removes segments.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove shared-memory segments of this host, or what a dead collector left (see `ranktop ls`).",
        discussion: """
        Removes /dev/shm/ranktop-NAME for each NAME. A segment with a rank process still alive \
        is left alone unless --force: that run is still recording into it.

        For a run whose collector died (`collector gone` in `ranktop ls`), removes what it left \
        in your run directory: its run file, stale socket and token file (never the event log). \
        A run whose collector still runs is left alone.

          ranktop rm r-20261129-143005-7f3a
          ranktop rm --force r-20261129-143005-7f3a

        Exit status: 0 every segment named was removed; 1 some was left (alive, or not there); \
        64 a usage error.
        """
    )

    @Argument(help: ArgumentHelp("Segment names (or shm://NAME).", valueName: "name"))
    var names: [String] = []

    @Flag(name: .long, help: "Remove it even while rank processes still write to it.")
    var force = false

    func validate() throws {
        if names.isEmpty { throw ValidationError("give the name of a segment to remove (`ranktop ls` lists them)") }
        for name in names {
            let bare = name.hasPrefix("shm://") ? String(name.dropFirst("shm://".count)) : name
            if let problem = ShmSegment.problem(withName: bare) { throw ValidationError(problem) }
        }
    }

    /// A dead collector's files, when NAME is a run of the run directory; nil when it is not one.
    private func removeRunFiles(_ name: String) -> Bool? {
        let path = RunFile.defaultPath(runID: name)
        guard let file = RunFile.read(path: path) else { return nil }
        if file.collectorAlive {
            Console.warn("\(name): its collector is running (pid \(file.pid)); left alone")
            return false
        }
        for address in file.listen {
            if case let .unix(socket) = address, !LocalCollectors.listens(unixPath: socket) { unlink(socket) }
        }
        unlink(TokenFile.defaultPath(runID: name))
        unlink(path)
        Console.say("removed \(path) (the log stays: \(file.log))")
        return true
    }

    func run() async throws {
        var failed = false
        for text in names {
            let name = text.hasPrefix("shm://") ? String(text.dropFirst("shm://".count)) : text
            if !text.hasPrefix("shm://"), FilePaths.isDirectory(ShmSegment.path(name: name)) == nil, let removed = removeRunFiles(name) {
                if !removed { failed = true }
                continue
            }
            do {
                let segment = try ShmSegment.open(name: name, writable: false)
                let alive = segment.areas.filter { $0.pid != 0 && !$0.saidBye && ShmSegment.processExists($0.pid) }
                if !alive.isEmpty, !force {
                    Console.warn("\(name): \(alive.count) rank process\(alive.count == 1 ? " is" : "es are") still writing to it (pid \(alive.map { String($0.pid) }.prefix(4).joined(separator: ", "))); left alone (--force removes it)")
                    failed = true
                    continue
                }
                segment.unlink()
                Console.say("removed \(segment.path)")
            } catch {
                Console.warn("\(name): \(error.description)")
                failed = true
            }
        }
        if failed { throw ExitCode(ExitStatus.notDone) }
    }
}

/// What `ls` says of one segment.
struct SegmentRow {
    var name: String
    var path: String
    var run: String?
    var world: Int?
    var ranks: Int
    var alive: Int
    var created: Double
    var lastTs: Double?
    var stalled: Bool
    var ended: Bool

    var state: String {
        if ended { return "ended" }
        if alive == 0 { return ranks == 0 ? "empty" : "dead" }
        if stalled { return "STALLED" }
        return alive < ranks ? "running, \(ranks - alive) gone" : "running"
    }

    static func read(_ name: String) async -> SegmentRow? {
        guard let segment = try? ShmSegment.open(name: name, writable: false) else { return nil }
        let claimed = segment.areas.filter { $0.pid != 0 }
        let alive = claimed.filter { !$0.saidBye && ShmSegment.processExists($0.pid) }.count
        var row = SegmentRow(
            name: name, path: segment.path, ranks: claimed.count, alive: alive, created: segment.created,
            lastTs: claimed.map(\.lastTs).filter { $0 > 0 }.max(), stalled: false, ended: ShmCleanup.everyRankSaidBye(segment)
        )
        // The run's id, world and stall come from the same model a report folds.
        if let reader = try? await SegmentCollector.open(name: name, drainOnce: true, keepsLiveModel: true) {
            let model = reader.collector.model()
            await reader.close()
            let snapshot = RunSnapshot(model: model, now: WallClock.now)
            row.run = model.run
            row.world = model.world > 0 ? model.world : nil
            row.stalled = snapshot.stall != nil
        }
        return row
    }

    var json: JSONValue {
        .object([
            ("name", .string(name)), ("path", .string(path)), ("run", run.map(JSONValue.string) ?? .null),
            ("world", world.map(JSONValue.int) ?? .null), ("ranks", .int(ranks)), ("alive", .int(alive)),
            ("created", .double(created)), ("last_ts", lastTs.map(JSONValue.double) ?? .null),
            ("stalled", .bool(stalled)), ("ended", .bool(ended)),
        ])
    }

    static func columns(_ rows: [[String]]) -> [String] {
        let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }
    }
}
