import RanktopReport
import Foundation
import RanktopModel
import RanktopProtocol
import RanktopCollector
import RanktopTestSupport
import Testing

/// Issue 8, parts A and B: what a hostile local client tried, each now a regression test.
@Suite("Collector hardening", .serialized)
struct CollectorHardeningTests {
    @Test func test_seqNearIntMaxIsRejectedAndTheCollectorLivesOn() async throws {
        let harness = try await CollectorHarness.start()
        let hostile = try RawRank(harness.address)
        try hostile.send(#"{"kind":"hello","rank":0,"ts":1,"seq":9223372036854775807,"v":1,"run":"r-test","world":2,"local_rank":0,"local_world":2,"node":"n","pid":7,"runtime":"x"}"# + "\n")
        try hostile.send(RawRank.hello(rank: 0))
        try hostile.send(#"{"kind":"progress","rank":0,"ts":2,"seq":9223372036854775806,"step":1}"# + "\n")
        try hostile.send(Event(rank: 0, ts: 3, seq: 2, .progress(Progress(step: 2))))
        let events = try await harness.waitForLog("the valid progress") { $0.contains { $0.kind == .progress } }
        #expect(events.filter { $0.kind == .progress }.count == 1)
        #expect(try harness.logLines().contains { $0.contains("9223372036854775807") && $0.contains("above the supported maximum") })
        hostile.close()
        await harness.stop()
    }

    @Test func test_aLogHoldingAHugeSeqStillStartsTheCollector() async throws {
        let scratch = NSTemporaryDirectory() + "ranktop-hugeseq-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).jsonl"
        defer { unlink(scratch) }
        let lines = [
            #"{"kind":"hello","rank":0,"ts":1,"seq":0,"v":1,"run":"r","world":1,"local_rank":0,"local_world":1,"node":"n","pid":7,"runtime":"x"}"#,
            #"{"kind":"progress","rank":0,"ts":2,"seq":9223372036854775807,"step":1}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: scratch, atomically: true, encoding: .utf8)
        let harness = try await CollectorHarness.start(existingLog: scratch)
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, world: 1))
        _ = try await harness.waitForLog("the new hello") { $0.filter { $0.kind == .hello }.count == 2 }
        rank.close()
        await harness.stop()
    }

    @Test func test_aRankCannotWriteTheKindsOnlyTheCollectorWrites() async throws {
        let harness = try await CollectorHarness.start()
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0))
        try rank.send(#"{"kind":"dropped","rank":0,"ts":2,"count":9223372036854775807}"# + "\n")
        try rank.send(#"{"kind":"dropped","rank":0,"ts":2,"count":5}"# + "\n")
        try rank.send(#"{"kind":"lost","rank":0,"ts":2,"reason":"forged"}"# + "\n")
        try rank.send(#"{"kind":"inject","rank":-1,"ts":2,"id":"inj-forged"}"# + "\n")
        try rank.send(Event(rank: 0, ts: 3, seq: 1, .progress(Progress(step: 1))))
        let events = try await harness.waitForLog("the progress") { $0.contains { $0.kind == .progress } }
        #expect(!events.contains { [.dropped, .lost, .inject].contains($0.kind) })
        #expect(try harness.logLines().contains { $0.contains("written by the collector, never by a rank") })
        var model = RunModel()
        for event in events { model.apply(event) }
        #expect(model.droppedTotal == 0)
        rank.close()
        await harness.stop()
    }

    @Test func test_theDroppedTotalSaturatesInsteadOfTrapping() {
        var model = RunModel()
        model.apply(Event(rank: 0, ts: 1, .dropped(count: Int.max)))
        model.apply(Event(rank: 1, ts: 1, .dropped(count: Int.max)))
        #expect(model.droppedTotal == Int.max)
        #expect(RunReport(model: model).text.contains("events were lost"))
    }

    @Test func test_aHelloOutsideItsOwnWorldIsRejected() async throws {
        let harness = try await CollectorHarness.start()
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 5, world: 4))
        try await waitFor("the rejection") { (try? harness.logLines().contains { $0.contains("outside the world of 4") }) == true }
        #expect(harness.collector.connectedRanks.isEmpty)
        rank.close()
        await harness.stop()
    }

    @Test func test_aMalformedStackRequestIsAnsweredNotLeftHanging() async throws {
        let harness = try await CollectorHarness.start()
        let client = try RawRank(harness.address)
        try client.send(#"{"kind":"stack.req","rank":"x"}"# + "\n")
        let reply = await client.readLine(timeout: 10)
        #expect(reply?.contains(#""kind":"error""#) == true, "\(reply ?? "no reply")")
        #expect(reply?.contains("rank") == true)
        client.close()
        await harness.stop()
    }

    @Test func test_theTokenNeverReachesTheLogAndTheLogIsPrivate() async throws {
        let harness = try await CollectorHarness.start(token: "s3cr3t", listen: [.tcp(host: "127.0.0.1", port: 0)])
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, token: "s3cr3t"))
        let events = try await harness.waitForLog("the hello") { $0.contains { $0.kind == .hello } }
        guard case let .hello(hello)? = events.first?.body else { throw TestFailure("no hello") }
        #expect(hello.token == nil)
        #expect(hello.node == "n" && hello.runtime == "test", "the rest of the hello is kept")
        #expect(try !String(contentsOfFile: harness.logPath, encoding: .utf8).contains("s3cr3t"))
        let mode = try FileManager.default.attributesOfItem(atPath: harness.logPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        rank.close()
        await harness.stop()
    }

    @Test func test_theTokenIsCutOutWhereverItSitsInTheLine() {
        for line in [
            #"{"token":"a","kind":"hello"}"#, #"{"kind":"hello","token":"a"}"#, #"{"kind":"hello", "token" : "a" ,"v":1}"#,
            #"{"kind":"hello","t\u006fken":"a","v":1}"#, #"{"token":"a"}"#,
        ] {
            var copy = line
            let redacted = copy.withUTF8 { FieldRedaction.removing("token", from: $0) }.map { String(decoding: $0, as: UTF8.self) }
            #expect(redacted != nil, "\(line)")
            #expect(redacted.map { JSONValue.parse($0) != nil } == true, "valid JSON: \(redacted ?? "")")
            #expect(redacted.map { JSONValue.parse($0)?["token"] == nil && !$0.contains("t\\u006fken") } == true, "\(redacted ?? "")")
        }
    }

    @Test func test_overTCPTheByOfAnInjectionIsMarkedClaimed() async throws {
        let harness = try await CollectorHarness.start(token: "t", listen: [.tcp(host: "127.0.0.1", port: 0)])
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, token: "t"))
        try await waitFor("the rank") { harness.collector.connectedRanks == [0] }
        _ = try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: "t", by: "admin@cluster", timeout: 5)
        let injection = try harness.logEvents().compactMap { event -> Injection? in
            if case let .inject(injection) = event.body { return injection }
            return nil
        }.first
        #expect(injection?.by == "admin@cluster (claimed)")
        rank.close()
        await harness.stop()
    }

    @Test func test_aSecondHelloForARankDoesNotStrandTheRealOne() async throws {
        let harness = try await CollectorHarness.start()
        let real = try RawRank(harness.address)
        try real.send(RawRank.hello(rank: 0, world: 1, pid: 1000))
        try await waitFor("the real rank") { harness.collector.connectedRanks == [0] }
        let claimant = try RawRank(harness.address)
        try claimant.send(RawRank.hello(rank: 0, world: 1, pid: 5000))
        _ = try await harness.waitForLog("the claimant's hello") { $0.filter { $0.kind == .hello }.count == 2 }
        claimant.close()
        try await waitFor("the claimant gone") { harness.collector.statistics.connectedRanks == 1 }
        let (id, delivered) = try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: nil, by: "u@h", timeout: 5)
        #expect(delivered == 1)
        #expect(await real.readLine().flatMap(ControlLine.parse) == .inject(id: id, reason: nil))
        // The real rank is still connected: nothing says rank 0 was lost.
        #expect(try !harness.logEvents().contains { $0.kind == .lost })
        real.close()
        await harness.stop()
    }

    @Test func test_twoRunsOnOneCollectorKeepTheirOwnSeqAndControl() async throws {
        let harness = try await CollectorHarness.start()
        let first = try RawRank(harness.address)
        try first.send(RawRank.hello(rank: 0, world: 1, pid: 77, run: "run-a"))
        for seq in 1...80 { try first.send(Event(rank: 0, ts: 2, seq: seq, .heartbeat)) }
        first.close()
        _ = try await harness.waitForLog("run a's end") { $0.contains { $0.kind == .lost } }
        let second = try RawRank(harness.address)
        try second.send(RawRank.hello(rank: 0, world: 1, pid: 77, run: "run-b"))
        try second.send(Event(rank: 0, ts: 3, seq: 1, .progress(Progress(step: 1))))
        let events = try await harness.waitForLog("run b's progress") { $0.contains { $0.kind == .progress } }
        #expect(!events.contains { $0.kind == .dropped }, "a new run's seq starts afresh")
        let (_, delivered) = try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: nil, by: "u@h", timeout: 5)
        #expect(delivered == 1)
        #expect(await second.readLine().flatMap(ControlLine.parse) != nil)
        second.close()
        await harness.stop()
    }

    /// LoginGraceTime, and the lines-before-hello limit counting invalid lines too: an idle
    /// connection and one that sends only garbage are both closed.
    @Test(arguments: [0, 100])
    func test_aConnectionThatNeverSaysHelloIsClosed(garbageLines: Int) async throws {
        let harness = try await CollectorHarness.start(identifyTimeout: garbageLines == 0 ? 0.5 : 10)
        let client = try RawRank(harness.address)
        for i in 0..<garbageLines { try? client.send("not json \(i)\n") }
        #expect(await client.isClosedByPeer(timeout: 10))
        client.close()
        await harness.stop()
    }

    @Test func test_injectionRequestsAreRateLimited() async throws {
        let harness = try await CollectorHarness.start()
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, world: 1))
        try await waitFor("the rank") { harness.collector.connectedRanks == [0] }
        var refused = 0
        for _ in 0..<20 {
            do {
                _ = try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: nil, by: "u@h", timeout: 5)
            } catch {
                #expect("\(error)".contains("too many injection requests"))
                refused += 1
            }
        }
        #expect(refused > 0)
        #expect(try harness.logEvents().filter { $0.kind == .inject }.count < 20)
        rank.close()
        await harness.stop()
    }

    @Test func test_wrongTokensAreLoggedAndAnsweredEverSlower() async throws {
        let harness = try await CollectorHarness.start(token: "right", listen: [.tcp(host: "127.0.0.1", port: 0)])
        let start = MonotonicClock.now
        for _ in 0..<4 {
            await #expect(throws: (any Error).self) { try await CollectorClient.connect(to: harness.address, token: "guess") }
        }
        // 0.125 + 0.25 + 0.5 + 1 s of refusal delay at the least.
        #expect(MonotonicClock.now - start >= 1.8)
        let warnings = try harness.logLines().filter { $0.contains("collector refused") && $0.contains("a wrong token") }
        #expect(warnings.count == 4)
        await harness.stop()
    }

    @Test func test_anInjectionNobodyTookIsWithdrawnAndNeverStopsALaterRun() async throws {
        let harness = try await CollectorHarness.start()
        do {
            _ = try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: nil, by: "u@h", timeout: 1)
            Issue.record("taken by nobody, yet accepted")
        } catch let error as TransportError {
            #expect(error.timedOut)
            #expect(error.description.contains("withdrawn"))
        }
        let later = try RawRank(harness.address)
        try later.send(RawRank.hello(rank: 0, world: 1, run: "a-later-run"))
        #expect(await later.readLine(timeout: 1) == nil, "the later run got no injection")
        #expect(try harness.logLines().contains { $0.contains("withdrawn: no rank took it in time") })
        later.close()
        await harness.stop()
    }

    @Test func test_aPendingInjectionCanBeCancelled() async throws {
        let harness = try await CollectorHarness.start()
        let asked = Task { try await CollectorClient.injectTrigger(at: harness.address, reason: nil, token: nil, by: "u@h", timeout: 60) }
        let id = try await harness.waitForLog("the injection") { $0.contains { $0.kind == .inject } }
            .compactMap { event -> String? in if case let .inject(injection) = event.body { return injection.id } else { return nil } }[0]
        let handed = try await CollectorClient.cancelInjection(at: harness.address, id: id, token: nil, timeout: 5)
        #expect(handed == 0)
        await #expect(throws: (any Error).self) { try await asked.value }
        await #expect(throws: (any Error).self) {
            try await CollectorClient.cancelInjection(at: harness.address, id: id, token: nil, timeout: 5)
        }
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, world: 1))
        #expect(await rank.readLine(timeout: 1) == nil, "a cancelled injection reaches nobody")
        rank.close()
        await harness.stop()
    }

    /// Needs root: runs a client as `nobody`, as another user of a shared node would.
    @Test(.enabled(if: getuid() == 0, "needs root to act as another user"))
    func test_aUnixPeerOfAnotherUserIsRefusedEvenWhenTheSocketIsOpen() async throws {
        let harness = try await CollectorHarness.start()
        guard case let .unix(path) = harness.address else { throw TestFailure("not a unix socket") }
        chmod(harness.directory, 0o755)
        chmod(path, 0o666)
        // Refused either way: closed before the request was sent (a broken pipe), or before the
        // reply (a reset or an empty read).
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            try:
                s.sendall(b'{"kind":"viewer","v":1}\\n'); s.settimeout(10); data = s.recv(4096)
            except ConnectionError:
                data = b''
            print("closed" if data == b'' else "reply: " + data.decode())
            """
        let result = try await ProcessRunner.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, path])
        #expect(result.stdout == "closed\n", "closed with no reply: \(result.stdout) \(result.stderr)")
        await harness.stop()
    }

    /// Needs root: a tiny tmpfs stands in for a full disk that later frees up.
    @Test(.enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
    func test_aFullDiskIsBoundedCountedAndNeverBlamedOnTheRank() async throws {
        let mountPoint = NSTemporaryDirectory() + "ranktop-full-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        #expect(try await ProcessRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint]).status == 0)
        defer {
            _ = try? ProcessRunner.runBlocking("/bin/umount", [mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let filler = mountPoint + "/filler"
        let harness = try await CollectorHarness.start(logPath: mountPoint + "/run.jsonl")
        let rank = try RawRank(harness.address)
        try rank.send(RawRank.hello(rank: 0, world: 1))
        _ = try await harness.waitForLog("the hello") { !$0.isEmpty }
        // Fill the disk, then keep the rank talking: about 26 MB of events, far past the 8 MB the
        // collector holds while it cannot write.
        _ = try? await ProcessRunner.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k", "count=1024"])
        // Seconds of blocking sends: on a thread of their own, not one of the test pool's two.
        let socket = rank.socket
        try await offTheTestPool {
            let padding = String(repeating: "x", count: 200)
            var seq = 1
            for _ in 0..<100_000 {
                try RawRank.send(Event(rank: 0, ts: 2, seq: seq, .log(level: .info, msg: padding)), over: socket)
                seq += 1
            }
            try RawRank.send(Event(rank: 0, ts: 3, seq: seq, .bye(code: 0, error: nil)), over: socket)
        }
        rank.close()
        try await waitFor("the rank's connection to end", timeout: 60) { harness.collector.statistics.connectedRanks == 0 }
        // Room again: the collector says what it discarded, and keeps the bye it held aside.
        unlink(filler)
        let events = try await harness.waitForLog(timeout: 30, "the discarded count") { $0.contains { $0.kind == .discarded } }
        let discarded = events.compactMap { event -> Int? in if case let .discarded(count, _) = event.body { return count } else { return nil } }.reduce(0, +)
        #expect(discarded > 10_000, "most of 100,000 lines could not be kept")
        #expect(events.contains { $0.kind == .bye }, "the bye survived")
        var model = RunModel()
        for event in events { model.apply(event) }
        let report = RunReport(model: model)
        #expect(report.ranks.first?.status == .exited)
        #expect(report.ranks.first?.dropped == 0, "the collector's loss is not the rank's")
        #expect(report.text.contains("the collector discarded"))
        await harness.stop()
    }

    @Test func test_aStaleTokenFileForTheSamePortLosesToTheNewestOne() throws {
        let directory = NSTemporaryDirectory() + "ranktop-tokens-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, token, age) in [("old", "stale", 3600.0), ("new", "fresh", 0.0)] {
            let path = directory + "/\(name).token"
            try "\(token)\ntcp://0.0.0.0:29600\n".write(toFile: path, atomically: false, encoding: .utf8)
            let when = Date().addingTimeInterval(-age)
            try FileManager.default.setAttributes([.modificationDate: when, .posixPermissions: 0o600], ofItemAtPath: path)
        }
        #expect(TokenFile.lookup(for: .tcp(host: "127.0.0.1", port: 29600), in: directory) == "fresh")
        #expect(TokenFile.lookup(for: .tcp(host: "127.0.0.1", port: 29601), in: directory) == nil)
    }
}
