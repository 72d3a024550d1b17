import Foundation
import RanktopCollector
import RanktopEmitter
import RanktopModel
import RanktopProtocol
import RanktopTestSupport
import Testing

/// The Swift runtime and the Python adapter writing into one segment: two writers of one layout,
/// read back by the one reader and folded into one model.
@Suite struct SharedMemoryInteropTests {
    static let pythonDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("clients/python").path

    /// Rank 1 of the run, written by the adapter's shared-memory emitter (stdlib only).
    static let pythonRank = """
    import os, sys
    from ranktop._shm import SharedMemoryEmitter
    hello = {"v": 1, "run": "interop", "world": 2, "local_rank": 1, "local_world": 2, "node": "n", "pid": os.getpid(), "runtime": "python-test"}
    emitter = SharedMemoryEmitter(sys.argv[1], 1, hello, local_rank=1)
    emitter.emit("progress", {"step": 1, "total": 10, "metrics": {"loss": 2.5}})
    emitter.emit("collective.enter", {"group": "world", "n": 0, "op": "all_reduce", "size": 2, "label": "check_trigger"})
    emitter.emit("log", {"level": "info", "msg": "na\\u00efve \\u2713"})
    emitter.emit("progress", {"step": 2, "total": 10, "metrics": {"loss": 2.25}})
    emitter.close(code=0)
    """

    static func decode(_ area: ShmRankArea) -> [Event] {
        var reader = ShmAreaReader(area: area)
        var decoder = EventDecoder()
        var events: [Event] = []
        reader.drain { record in
            record.withMemoryRebound(to: UInt8.self) {
                if case let .success(event) = decoder.decode($0) { events.append(event) }
            }
        }
        return events
    }

    @Test func swiftAndPythonWritersShareOneSegmentAndReadBackExactly() async throws {
        let name = "interop-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(ShmSegment.path(name: name)) }
        let hello = Hello(run: "interop", world: 2, localRank: 0, localWorld: 2, node: "n", pid: Int(getpid()), runtime: "swift-test")
        let swift = try Emitter(address: .sharedMemory(name: name), rank: 0, hello: hello)
        swift.emit(.progress(Progress(step: 1, total: 10, metrics: [Metric("loss", 2.5)])))
        swift.emit(.barrierEnter(BarrierEnter(n: 0, name: "save")))

        let python = try await ProcessRunner.run(
            "/usr/bin/env", ["python3", "-c", Self.pythonRank, name],
            environment: ["PYTHONPATH": Self.pythonDirectory, "RANKTOP_SHM_KEEP": "1"]
        )
        #expect(python.status == 0, "\(python.stderr)")

        let segment = try ShmSegment.open(name: name, writable: false)
        let areas = segment.areas.filter { $0.pid != 0 }.sorted { $0.rank < $1.rank }
        #expect(areas.map(\.rank) == [0, 1])
        #expect(areas.map(\.index) == [0, 1])

        let fromSwift = Self.decode(areas[0])
        #expect(fromSwift.map(\.seq) == [0, 1, 2])
        #expect(fromSwift.map(\.body) == [
            .hello(hello), .progress(Progress(step: 1, total: 10, metrics: [Metric("loss", 2.5)])), .barrierEnter(BarrierEnter(n: 0, name: "save")),
        ])
        let fromPython = Self.decode(areas[1])
        #expect(fromPython.map(\.seq) == [0, 1, 2, 3, 4, 5])
        #expect(fromPython.dropFirst().map(\.body) == [
            .progress(Progress(step: 1, total: 10, metrics: [Metric("loss", 2.5)])),
            .collectiveEnter(CollectiveEnter(group: "world", n: 0, op: "all_reduce", size: 2, label: "check_trigger")),
            .log(level: .info, msg: "naïve ✓"),
            .progress(Progress(step: 2, total: 10, metrics: [Metric("loss", 2.25)])),
            .bye(code: 0, error: nil),
        ])
        // The state blocks agree with the rings: Swift's rank waits in its barrier; Python's
        // last step ended its collective, and it said bye.
        #expect(areas[0].step == 1)
        #expect(areas[0].state(.barrier) != nil)
        #expect(areas[1].step == 2)
        #expect(areas[1].state(.collective) == nil)
        #expect(areas[1].saidBye)

        // One model of both, from the reader every command uses.
        let reader = try await SegmentCollector.open(name: name, drainOnce: true, keepsLiveModel: true)
        let model = reader.collector.model()
        await reader.close()
        #expect(model.ranks.map(\.status) == [.waiting, .exited])
        #expect(model.ranks.map(\.step) == [1, 2])
        swift.close()
    }
}
