import Foundation
import RanktopCollector
import RanktopEmitter
import RanktopModel
import RanktopProtocol
import RanktopTestSupport
import Testing

/// Who takes a segment's records into the log (`ShmIngest`): a viewer feed about to read takes
/// them itself, so a dashboard costs the collector one wake per read, not two.
@Suite struct SharedMemoryIngestTests {
    /// A collector on `shm://NAME` whose own ingest thread looks at the rings only once an hour,
    /// with a Unix socket for viewers (what reaches a viewer was taken by the viewer's feed), and
    /// a rank emitting into the segment after the collector's first look at it. The segment and
    /// the collector's directory are removed afterwards; `body` stops the collector.
    static func withASleepyIngestThread(_ body: (Collector, Address, Emitter) async throws -> Void) async throws {
        let name = "ingest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(ShmSegment.path(name: name)) }
        let directory = NSTemporaryDirectory() + "ranktop-shm-ingest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = CollectorConfiguration(
            listen: [.sharedMemory(name: name), .unix(path: directory + "/c.sock")], logPath: directory + "/run.jsonl",
            runID: "r-test", silenceTimeout: 600, flushInterval: 0.1, identifyTimeout: 120
        )
        configuration.sharedMemory.pollInterval = 3600
        let collector = try Collector(configuration: configuration)
        let addresses = try await collector.start()
        let hello = Hello(run: "r-test", world: 1, localRank: 0, localWorld: 1, node: "n", pid: Int(getpid()), runtime: "swift-test")
        let emitter = try Emitter(address: .sharedMemory(name: name), rank: 0, hello: hello, options: EmitterOptions(heartbeatInterval: 600))
        defer { emitter.close() }
        try await body(collector, addresses[1], emitter)
    }

    @Test func aViewerFeedTakesTheRingsRecordsWithoutWaitingForTheIngestThread() async throws {
        try await Self.withASleepyIngestThread { collector, viewerAddress, emitter in
            for step in 1...10 { emitter.emit(.progress(Progress(step: step, total: 10))) }

            let viewer = try await CollectorClient.connect(to: viewerAddress, token: nil)
            let (seen, task) = collect(viewer.events())
            try await waitFor("the rank's hello and ten steps on the viewer, with the ingest thread asleep") {
                await seen.events.filter { $0.rank == 0 }.count == 11
            }
            let fromRank = await seen.events.filter { $0.rank == 0 }
            #expect(fromRank.map(\.kind) == [.hello] + Array(repeating: .progress, count: 10))
            #expect(fromRank.map(\.seq) == Array(0...10), "the steps came out of order")
            task.cancel()
            await collector.stop()
        }
    }

    @Test func aBacklogPastAFeedsShareArrivesWholeAndInOrder() async throws {
        try await Self.withASleepyIngestThread { collector, viewerAddress, emitter in
            // Eight times what a feed's pass takes from one ring, well within the ring.
            let steps = 8 * 256
            for step in 1...steps { emitter.emit(.progress(Progress(step: step, total: steps))) }

            let viewer = try await CollectorClient.connect(to: viewerAddress, token: nil)
            let (seen, task) = collect(viewer.events())
            try await waitFor("every step of the backlog on the viewer") {
                await seen.events.filter { $0.rank == 0 }.count == steps + 1
            }
            let fromRank = await seen.events.filter { $0.rank == 0 }
            #expect(fromRank.map(\.seq) == Array(0...steps), "not every step arrived in order")
            #expect(await !seen.events.contains { $0.kind == .dropped })
            task.cancel()
            // The stop drains what the rings still hold, whoever would have taken it.
            emitter.emit(.bye(code: 0, error: nil))
            await collector.stop()
            var logged: [Event] = []
            try EventLogReader.read(path: collector.logPath) { if $0.rank == 0 { logged.append($0) } }
            #expect(logged.map(\.seq) == Array(0...steps + 1), "the log does not hold every record of the ring")
            #expect(logged.last?.kind == .bye)
        }
    }
}
