import Foundation
import RanktopModel
import RanktopProtocol
import RanktopCollector
import RanktopEmitter
import RanktopTestSupport
import Testing

/// Collects a stream's events on a background task.
actor Collected {
    var events: [Event] = []
    var finished = false
    func add(_ event: Event) { events.append(event) }
    func finish() { finished = true }
}

func collect(_ stream: AsyncStream<Event>) -> (Collected, Task<Void, Never>) {
    let collected = Collected()
    let task = Task {
        for await event in stream { await collected.add(event) }
        await collected.finish()
    }
    return (collected, task)
}

func waitFor(_ what: String, timeout: Double = 30, _ condition: () async -> Bool) async throws {
    try await waitUntil(what, timeout: timeout, condition)
}

@Suite("Collector viewers and control")
struct CollectorViewerTests {
    /// A rank that said hello and 50 steps, all in the log.
    func rankWithHistory(_ harness: CollectorHarness) async throws -> RawRank {
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, world: 1))
        for step in 1...50 { try rank.send(Event(rank: 0, ts: Double(step), seq: step, .progress(Progress(step: step)))) }
        _ = try await harness.waitForLog("history") { $0.count >= 51 }
        return rank
    }

    @Test func test_viewersJoiningLateGetTheHistoryThenLiveEvents() async throws {
        let harness = try await CollectorHarness.start()
        let rank = try await rankWithHistory(harness)

        let remote = try await CollectorClient.connect(to: harness.address, token: nil)
        #expect(remote.run == "r-test")
        #expect(remote.logPath == harness.logPath)
        let (viaSocket, socketTask) = collect(remote.events())
        let (inProcess, localTask) = collect(LocalRunSource(collector: harness.collector).events())
        // The history is the collector's start record and the rank's 51 events.
        try await waitFor("history on both viewers") {
            let (a, b) = (await viaSocket.events.count, await inProcess.events.count)
            return a == 52 && b == 52
        }
        try rank.send(Event(rank: 0, ts: 99, seq: 51, .bye(code: 0, error: nil)))
        try await waitFor("the live bye on both viewers") {
            let (a, b) = (await viaSocket.events.count, await inProcess.events.count)
            return a == 53 && b == 53
        }
        let logged = try harness.logEvents(includingCollectorRecords: true)
        #expect(logged.first?.kind == .collector)
        let seenViaSocket = await viaSocket.events
        let seenInProcess = await inProcess.events
        #expect(seenViaSocket == logged)
        #expect(seenInProcess == logged)
        rank.close()
        await harness.collector.stop()
        try await waitFor("both streams to finish when the collector stops") {
            let (a, b) = (await viaSocket.finished, await inProcess.finished)
            return a && b
        }
        socketTask.cancel()
        localTask.cancel()
        await harness.stop()
    }

    @Test func test_aViewerFromTheEndGetsOnlyWhatIsLoggedAfterItsReply() async throws {
        let harness = try await CollectorHarness.start()
        let rank = try await rankWithHistory(harness)
        let live = try await CollectorClient.connect(to: harness.address, token: nil, fromEnd: true)
        let (seen, task) = collect(live.events())
        try rank.send(Event(rank: 0, ts: 99, seq: 51, .bye(code: 0, error: nil)))
        try await waitFor("the bye") { await seen.events.count == 1 }
        #expect(await seen.events.map(\.kind) == [.bye])
        task.cancel()
        rank.close()
        await harness.stop()
    }

    @Test func test_aViewerRequestFromSomewhereUnknownIsRefused() {
        let line = Array(#"{"kind":"viewer","v":1,"from":"middle"}"#.utf8)
        let request = line.withUnsafeBufferPointer { ConnectionRequest.parse($0) }
        #expect(request == .malformed(kind: "viewer", reason: #"field 'from': expected "start" or "end", not "middle""#))
        let end = Array(ConnectionRequest.viewer(token: nil, fromEnd: true).line.utf8.dropLast())
        #expect(end.withUnsafeBufferPointer { ConnectionRequest.parse($0) } == .viewer(token: nil, fromEnd: true))
    }

    /// A caught-up viewer is sent what the log's writer still buffers: a read for a viewer writes
    /// nothing to the file, which gets the lines at its flush interval (here, only at the stop).
    @Test func test_aViewerGetsLinesTheFileDoesNotHoldYet_andTheFileGetsThemAll() async throws {
        let harness = try await CollectorHarness.start(flushInterval: 3600)
        let remote = try await CollectorClient.connect(to: harness.address, token: nil)
        let (seen, task) = collect(remote.events())
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, world: 1))
        for step in 1...50 { try rank.send(Event(rank: 0, ts: Double(step), seq: step, .progress(Progress(step: step)))) }
        try await waitFor("the rank's 51 events on the viewer") { await seen.events.filter { $0.rank == 0 }.count == 51 }
        #expect(try harness.logEvents().filter { $0.rank == 0 }.isEmpty, "a viewer's read flushed the log")

        try rank.send(Event(rank: 0, ts: 99, seq: 51, .bye(code: 0, error: nil)))
        // Stopping drops what the socket still holds unread, so the bye must be in before the stop.
        try await waitFor("the bye on the viewer") { await seen.events.filter { $0.rank == 0 }.count == 52 }
        rank.close()
        await harness.collector.stop()
        try await waitFor("the viewer's stream to end with the log") { await seen.finished }
        let logged = try harness.logEvents(includingCollectorRecords: true)
        #expect(logged.filter { $0.rank == 0 }.count == 52)
        #expect(await seen.events == logged)
        task.cancel()
        await harness.stop()
    }

    @Test func test_anInProcessViewerGetsTheHistoryAsOneBatch_thenEachCommit() async throws {
        let harness = try await CollectorHarness.start()
        let rank = try await rankWithHistory(harness)
        var batches = LocalRunSource(collector: harness.collector).batches().makeAsyncIterator()
        // The history is one read of the log: one batch, not 51 hops.
        let history = await batches.next()
        #expect(history?.count == 52, "the collector's start record and the rank's 51 events")
        try rank.send(Event(rank: 0, ts: 99, seq: 51, .bye(code: 0, error: nil)))
        let live = await batches.next()
        #expect(live?.map(\.kind) == [.bye])
        rank.close()
        await harness.collector.stop()
        // The collector's clean end is the last thing in the log, then the stream ends.
        let last = await batches.next()
        #expect(last?.map(\.kind) == [.collector])
        let end = await batches.next()
        #expect(end == nil)
        await harness.stop()
    }

    @Test func test_anInjectionIsLoggedThenHandedToEveryConnectedRank() async throws {
        let harness = try await CollectorHarness.start()
        let ranks = try (0..<3).map { _ in try RawRank(harness.address) }
        for (r, rank) in ranks.enumerated() { try rank.send(RawRank.hello(rank: r, world: 3)) }
        try await waitFor("three connected ranks") { harness.collector.connectedRanks.count == 3 }

        let (id, delivered) = try await CollectorClient.injectTrigger(
            at: harness.address, reason: "plateau", token: nil, by: "ada@node1", timeout: 5
        )
        #expect(delivered == 3)
        for rank in ranks {
            #expect(await rank.readLine().flatMap(ControlLine.parse) == .inject(id: id, reason: "plateau"))
        }
        let injections = try harness.logEvents().compactMap { event -> Injection? in
            if case let .inject(injection) = event.body, event.rank == -1 { return injection }
            return nil
        }
        // Over a Unix socket `by` is the kernel's word for who asked, not the client's claim.
        #expect(injections == [Injection(id: id, reason: "plateau", by: PeerIdentity(.local(uid: getuid(), pid: 0)).verifiedUser)])
        for rank in ranks { rank.close() }
        await harness.stop()
    }

    @Test func test_anInjectionAskedBeforeAnyRankConnectsReachesTheFirstRank() async throws {
        let harness = try await CollectorHarness.start()
        let asked = Task { try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: nil, by: "u@h", timeout: 10) }
        // Connect only once the collector holds the injection with nobody to hand it to.
        _ = try await harness.waitForLog("the injection") { $0.contains { $0.kind == .inject } }
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, world: 1))
        let (id, delivered) = try await asked.value
        #expect(delivered == 1)
        #expect(await rank.readLine().flatMap(ControlLine.parse) == .inject(id: id, reason: nil))
        rank.close()
        await harness.stop()
    }

    @Test func test_aStackRequestGoesToThatRankOnly() async throws {
        let harness = try await CollectorHarness.start()
        let zero = try RawRank(harness.address)
        let one = try RawRank(harness.address)
        try zero.send(RawRank.hello(rank: 0))
        try one.send(RawRank.hello(rank: 1))
        try await waitFor("two ranks") { harness.collector.connectedRanks.count == 2 }
        let client = try await CollectorClient.connect(to: harness.address, token: nil)
        try await client.requestStack(rank: 1)
        guard case let .stackRequest(id)? = await one.readLine().flatMap(ControlLine.parse) else {
            Issue.record("rank 1 got no stack request")
            return
        }
        #expect(await zero.readLine(timeout: 0.3) == nil)
        try one.send(Event(rank: 1, ts: 5, seq: 1, .stack(id: id, frames: ["main", "train"])))
        _ = try await harness.waitForLog("the stack") { $0.contains { $0.kind == .stack } }
        await #expect(throws: (any Error).self) { try await client.requestStack(rank: 7) }
        zero.close()
        one.close()
        await harness.stop()
    }

    @Test func test_withATokenEveryTCPConnectionMustPresentIt() async throws {
        let harness = try await CollectorHarness.start(token: "s3cret", listen: [.tcp(host: "127.0.0.1", port: 0)])
        let intruder = try RawRank(harness.address)
        try intruder.send(RawRank.hello(rank: 0, token: "wrong"))
        #expect(await intruder.isClosedByPeer())
        let member = try RawRank(harness.address)
        try member.send(RawRank.hello(rank: 1, token: "s3cret"))
        try await waitFor("the member") { harness.collector.connectedRanks == [1] }

        await #expect(throws: (any Error).self) {
            try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: nil, by: "u@h", timeout: 5)
        }
        do {
            _ = try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: "nope", by: "u@h", timeout: 5)
            Issue.record("a wrong token was accepted")
        } catch {
            #expect("\(error)".contains("wrong token"))
        }
        await #expect(throws: (any Error).self) { try await CollectorClient.connect(to: harness.address, token: nil) }
        let (_, delivered) = try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: "s3cret", by: "u@h", timeout: 5)
        #expect(delivered == 1)
        let events = try await harness.waitForLog("the member's hello") { $0.contains { $0.kind == .hello } }
        #expect(events.filter { $0.kind == .hello }.map(\.rank) == [1])
        #expect(events.filter { $0.kind == .inject }.count == 1)
        intruder.close()
        member.close()
        await harness.stop()
    }

    @Test func test_listeningOnTCPWithoutATokenIsRefusedLoopbackIncluded() throws {
        for host in ["0.0.0.0", "127.0.0.1"] {
            let configuration = CollectorConfiguration(listen: [.tcp(host: host, port: 0)], logPath: "/tmp/unused.jsonl", runID: "r")
            #expect(throws: TransportError.self) { try Collector(configuration: configuration) }
        }
    }

    @Test func test_tcpAndUnixListenersServeTheSameRunAtOnce() async throws {
        let directory = NSTemporaryDirectory() + "ranktop-both-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let harness = try await CollectorHarness.start(token: "t0k", listen: [.unix(path: directory + "/s.sock"), .tcp(host: "127.0.0.1", port: 0)])
        let addresses = harness.collector.addresses
        guard case let .tcp(_, port)? = addresses.last else { throw TestFailure("no tcp address") }
        #expect(port > 0)
        let viaUnix = try RawRank(addresses[0])
        let viaTCP = try RawRank(addresses[1])
        try viaUnix.send(RawRank.hello(rank: 0))
        try viaTCP.send(RawRank.hello(rank: 1, token: "t0k"))
        let events = try await harness.waitForLog("both hellos") { $0.count >= 2 }
        #expect(Set(events.map(\.rank)) == [0, 1])
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/s.sock")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        viaUnix.close()
        viaTCP.close()
        await harness.stop()
    }

    @Test func test_nothingListeningIsAClearError() async throws {
        do {
            _ = try await CollectorClient.injectTrigger(at: .unix(path: "/tmp/ranktop-nobody-\(getpid()).sock"), reason: nil, token: nil, by: "u@h", timeout: 2)
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("nothing listens at unix:/tmp/ranktop-nobody"))
        }
    }
}

@Suite("Emitter to viewer")
struct EmitterToViewerTests {
    /// The writer used to go back to sleep after a batch without asking to be woken, so events
    /// waited for the next heartbeat. The bound is far above the real latency (well under 10 ms,
    /// but seconds when the whole suite loads both cores) and far below the heartbeat interval.
    @Test func test_eventsEmittedWhileTheWriterIsBusyStillArriveLongBeforeTheNextHeartbeat() async throws {
        let harness = try await CollectorHarness.start()
        let emitter = try Emitter(
            address: harness.address, rank: 0,
            hello: Hello(run: "r-test", world: 1, localRank: 0, localWorld: 1, node: "n", pid: 42, runtime: "test"),
            options: EmitterOptions(heartbeatInterval: 60)
        )
        let viewer = Task.detached { () -> Double in
            var worst = 0.0
            var seen = 0
            for await event in LocalRunSource(collector: harness.collector).events() where event.kind == .progress {
                worst = max(worst, WallClock.now - event.ts)
                seen += 1
                if seen == 200 { break }
            }
            return worst
        }
        for step in 1...200 {
            emitter.emit(.progress(Progress(step: step)))
            usleep(2_000)
        }
        let worst = await viewer.value
        #expect(worst < 20, "an event took \(worst) s from emit to the viewer")
        emitter.close()
        await harness.stop()
    }
}
