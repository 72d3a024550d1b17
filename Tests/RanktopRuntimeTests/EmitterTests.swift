import Foundation
import NIOConcurrencyHelpers
import RanktopProtocol
import RanktopEmitter
import RanktopTestSupport
import Testing

/// The emitter's guarantees, against a stand-in Unix-socket listener.
@Suite(.timeLimit(.minutes(1)))
struct EmitterTests {
    static func hello(run: String = "r-test") -> Hello {
        Hello(run: run, world: 2, localRank: 1, localWorld: 2, node: "node-a", pid: 4242, runtime: "ranktop-swift/0.1", caps: ["inject", "stack"])
    }

    static func decode(_ line: String) -> Event? { decodeEvent(line) }

    static func quicklyReconnectingEmitter(to listener: TestListener) throws -> Emitter {
        try Emitter(
            address: Address(parsing: listener.address), rank: 1, hello: hello(),
            options: EmitterOptions(initialBackoff: 0.02, maxBackoff: 0.1))
    }

    static func steps(_ lines: [String]) -> [Int] {
        lines.compactMap { line in
            guard case let .progress(progress)? = decode(line)?.body else { return nil }
            return progress.step
        }
    }

    @Test func test_helloIsTheFirstLineWithSeqZeroThenEventsInOrder() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let emitter = try Emitter(address: Address(parsing: listener.address), rank: 1, hello: Self.hello())
        for step in 0..<5 { emitter.emit(.progress(Progress(step: step, total: 5))) }
        try await listener.waitUntil("hello and 5 progress events") { $0.first?.count ?? 0 >= 6 }
        emitter.close()

        let events = listener.allLines.compactMap(Self.decode)
        #expect(events.first?.kind == .hello)
        #expect(events.first?.seq == 0)
        #expect(events.allSatisfy { $0.rank == 1 })
        #expect(Self.steps(listener.allLines) == [0, 1, 2, 3, 4])
        #expect(events.prefix(6).map(\.seq) == [0, 1, 2, 3, 4, 5])
    }

    @Test func test_absentCollectorNeverBlocksTheCallerAndCountsDrops() async throws {
        let path = TestListener.temporarySocketPath()
        let emitter = try Emitter(
            address: Address(parsing: "unix:\(path)"), rank: 0, hello: Self.hello(),
            options: EmitterOptions(queueEvents: 256))
        try await offTheTestPool {
            for step in 0..<20_000 { emitter.emit(.progress(Progress(step: step, metrics: [Metric("loss", 1.5)]))) }
        }
        let stats = emitter.statistics
        #expect(stats.produced == 20_001)
        #expect(stats.dropped > 19_000)
        #expect(stats.connections == 0)
        emitter.close(timeout: 0)
    }

    @Test func test_overflowKeepsTheNewestEventsAndTheSeqGapMatchesTheDropCount() async throws {
        let path = TestListener.temporarySocketPath()
        let emitter = try Emitter(
            address: Address(parsing: "unix:\(path)"), rank: 0, hello: Self.hello(),
            options: EmitterOptions(queueEvents: 100, initialBackoff: 0.02, maxBackoff: 0.05))
        for step in 0..<1_000 { emitter.emit(.progress(Progress(step: step))) }
        let dropped = emitter.statistics.dropped
        #expect(dropped > 0)

        let listener = try TestListener(path: path)
        defer { listener.stop() }
        try await listener.waitUntil("the drop warning") { $0.joined().contains { $0.contains("events dropped") } }
        emitter.close()

        let events = listener.allLines.compactMap(Self.decode)
        let seqs = events.dropFirst().compactMap(\.seq)
        #expect(events.first?.kind == .hello)
        // The newest events survived, in order, and the gaps add up to exactly the drops.
        #expect(Self.steps(listener.allLines).last == 999)
        var gaps = seqs.first.map { $0 - 1 } ?? 0
        for (previous, next) in zip(seqs, seqs.dropFirst()) { gaps += next - previous - 1 }
        #expect(gaps == dropped)
        let warning = events.first { if case .log(.warning, _) = $0.body { true } else { false } }
        if case let .log(_, message)? = warning?.body {
            #expect(message.contains("\(dropped) events dropped"))
        }
    }

    @Test func test_slowCollectorNeverBlocksTheCaller() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let emitter = try Emitter(
            address: Address(parsing: listener.address), rank: 0, hello: Self.hello(),
            options: EmitterOptions(queueEvents: 256))
        try await listener.waitUntil("hello") { $0.first?.count ?? 0 >= 1 }
        listener.pauseReading()
        let padding = String(repeating: "x", count: 200)
        // The socket and then the queue fill up; the emitter starts dropping instead of waiting.
        let emitted = try await offTheTestPool {
            var step = 0
            while emitter.statistics.dropped == 0, step < 1_000_000 {
                emitter.emit(.log(level: .info, msg: "step \(step) \(padding)"))
                step += 1
            }
            return step
        }
        #expect(emitter.statistics.dropped > 0, "no drop after \(emitted) events")
        listener.resumeReading()
        try await listener.waitUntil("the drop warning") { $0.joined().contains { $0.contains("events dropped") } }
        emitter.close()
    }

    @Test func test_reconnectResendsTheOriginalHelloFirst() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let emitter = try Self.quicklyReconnectingEmitter(to: listener)
        emitter.emit(.progress(Progress(step: 1)))
        try await listener.waitUntil("the first connection's events") { $0.first?.count ?? 0 >= 2 }
        listener.dropConnections()

        // Keep emitting until the emitter notices and reconnects.
        var step = 2
        try await listener.waitUntil("a second connection") { connections in
            emitter.emit(.progress(Progress(step: step)))
            step += 1
            return connections.count >= 2 && connections[1].count >= 2
        }
        emitter.close()

        let connections = listener.connections
        #expect(connections[1].first == connections[0].first)
        #expect(Self.decode(connections[1][0])?.kind == .hello)
        #expect(Self.decode(connections[1][0])?.seq == 0)
        // Then what the first connection had taken, again (the collector behind it may have died
        // before logging it; a live one skips the copies by seq), in order, then the new steps.
        let first = Self.steps(connections[0]), second = Self.steps(connections[1])
        #expect(second.first == 1, "\(second)")
        #expect(Array(second.prefix(first.count)) == first, "\(first) then \(second)")
        #expect(second == second.sorted() && Set(second).count == second.count, "\(second)")
        #expect(emitter.statistics.connections >= 2)
    }

    @Test func test_collectorThatDiesAndRestartsGetsTheRunBack() async throws {
        let listener = try TestListener()
        let emitter = try Self.quicklyReconnectingEmitter(to: listener)
        emitter.emit(.progress(Progress(step: 0)))
        try await listener.waitUntil("the first events") { $0.first?.count ?? 0 >= 2 }
        listener.stop()
        for step in 1...50 { emitter.emit(.progress(Progress(step: step))) }

        let restarted = try TestListener(path: listener.path)
        defer { restarted.stop() }
        try await restarted.waitUntil("hello and step 50 after the restart") { Self.steps($0.joined().map { $0 }).contains(50) }
        emitter.close()
        #expect(Self.decode(restarted.allLines[0])?.kind == .hello)
    }

    @Test func test_controlLinesReachTheHandlerInOrder() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let received = NIOLockedValueBox<[ControlLine]>([])
        let emitter = try Emitter(address: Address(parsing: listener.address), rank: 0, hello: Self.hello()) { line in
            received.withLockedValue { $0.append(line) }
        }
        try await listener.waitUntil("hello") { $0.first?.count ?? 0 >= 1 }
        listener.send(ControlLine.inject(id: "inj-1", reason: "user stop").line)
        listener.send("{\"kind\":\"something.new\",\"id\":\"x\"}\n")
        listener.send(ControlLine.stackRequest(id: "st-9").line)
        let deadline = Date().addingTimeInterval(10)
        while received.withLockedValue({ $0.count }) < 2, Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        emitter.close()
        #expect(received.withLockedValue { $0 } == [.inject(id: "inj-1", reason: "user stop"), .stackRequest(id: "st-9")])
    }

    @Test func test_idleRankSendsHeartbeats() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let emitter = try Emitter(
            address: Address(parsing: listener.address), rank: 0, hello: Self.hello(),
            options: EmitterOptions(heartbeatInterval: 0.1))
        try await listener.waitUntil("two heartbeats") { lines in
            lines.joined().filter { Self.decode($0)?.kind == .heartbeat }.count >= 2
        }
        emitter.close()
    }

    @Test func test_closeSendsWhatWasQueuedIncludingBye() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let emitter = try Emitter(address: Address(parsing: listener.address), rank: 0, hello: Self.hello())
        for step in 0..<100 { emitter.emit(.progress(Progress(step: step))) }
        emitter.emit(.bye(code: 0, error: nil))
        emitter.close(timeout: 5)
        try await listener.waitUntil("bye") { $0.joined().last.flatMap(Self.decode)?.kind == .bye }
        #expect(Self.steps(listener.allLines) == Array(0..<100))
    }

    @Test func test_unsetAddressMeansNoEmitter() async {
        #expect(Emitter.fromEnvironment([:], rank: 0, hello: Self.hello()) == nil)
        #expect(Emitter.fromEnvironment(["RANKTOP_ADDR": ""], rank: 0, hello: Self.hello()) == nil)
    }

    @Test func test_malformedAddressesAndUnusableSegmentsAreIgnoredNotFatal() async {
        #expect(Emitter.fromEnvironment(["RANKTOP_ADDR": "shm://no spaces!"], rank: 0, hello: Self.hello()) == nil)
        #expect(Emitter.fromEnvironment(["RANKTOP_ADDR": "carrier-pigeon"], rank: 0, hello: Self.hello()) == nil)
    }

    @Test func test_sharedMemoryEventsAreInTheRanksRingAndStateBlock() async throws {
        let name = "emitter-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let emitter = try #require(Emitter.fromEnvironment(["RANKTOP_ADDR": "shm://\(name)"], rank: 1, hello: Self.hello()))
        defer { unlink(ShmSegment.path(name: name)) }
        emitter.emit(.barrierEnter(BarrierEnter(n: 0, name: "save")))
        emitter.emit(.progress(Progress(step: 7, total: 10)))
        let segment = try ShmSegment.open(name: name, writable: false)
        let area = try #require(segment.areas.first { $0.pid == Int(getpid()) })
        #expect(area.rank == 1)
        #expect(area.step == 7)
        #expect(area.total == 10)
        #expect(area.waitSince != nil)
        var reader = ShmAreaReader(area: area)
        var kinds: [String] = []
        var decoder = EventDecoder()
        reader.drain { record in
            record.withMemoryRebound(to: UInt8.self) {
                if case let .success(event) = decoder.decode($0) { kinds.append("\(event.kind.rawValue)#\(event.seq ?? -1)") }
            }
        }
        #expect(kinds == ["hello#0", "barrier.enter#1", "progress#2"])
        #expect(area.state(.barrier) != nil)
        #expect(emitter.statistics.produced == 3)
        emitter.close()
    }

    @Test func test_tokenAndTcpAddressFromTheEnvironment() async throws {
        // A TCP listener on loopback, read with the same line logic.
        let server = try PosixSocket.listen(host: "127.0.0.1", port: 0)
        defer { server.close() }
        let port = try #require(server.localPort)
        let emitter = try #require(Emitter.fromEnvironment(
            ["RANKTOP_ADDR": "tcp://127.0.0.1:\(port)", "RANKTOP_TOKEN": "s3cret"], rank: 0, hello: Self.hello()))
        defer { emitter.close(timeout: 0) }
        var accepted: PosixSocket?
        let deadline = Date().addingTimeInterval(10)
        while accepted == nil, Date() < deadline {
            PosixSocket.poll(server.fd, events: Int16(POLLIN), timeout: 0.1)
            accepted = server.accept()
        }
        let connection = try #require(accepted)
        defer { connection.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !bytes.contains(0x0A), Date() < deadline {
            PosixSocket.poll(connection.fd, events: Int16(POLLIN), timeout: 0.1)
            if case let .bytes(count) = chunk.withUnsafeMutableBytes({ connection.receive(into: $0) }) {
                bytes += chunk[..<count]
            }
        }
        let line = String(decoding: bytes.prefix { $0 != 0x0A }, as: UTF8.self)
        guard case let .hello(hello)? = Self.decode(line)?.body else {
            Issue.record("expected hello, got \(line)")
            return
        }
        #expect(hello.token == "s3cret")
    }
}
