import Dispatch
import Foundation
import NIOConcurrencyHelpers
import Ranktop
import RanktopProtocol
import RanktopTestSupport
import Testing

/// The runtime in one test process: ranks as threads, each with its own `DistributedState`, its
/// own store connection and its own emitter connection to a stand-in listener.
@Suite(.timeLimit(.minutes(1)))
struct DistributedStateTests {
    static func environment(rank: Int, world: Int, port: Int, listener: TestListener? = nil) -> [String: String] {
        var environment = [
            "RANK": "\(rank)", "WORLD_SIZE": "\(world)", "LOCAL_RANK": "\(rank)", "LOCAL_WORLD_SIZE": "\(world)",
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)", "RANKTOP_RUN": "in-process",
        ]
        if let listener { environment["RANKTOP_ADDR"] = listener.address }
        return environment
    }

    /// Ranks 0..<world of one run, rank 0 first (it hosts the store).
    static func ranks(world: Int, listener: TestListener? = nil, timeout: Double = 30) throws -> [DistributedState] {
        let port = try RankProcesses.freePort()
        return try (0..<world).map { rank in
            try DistributedState(
                environment: environment(rank: rank, world: world, port: port, listener: listener),
                options: .init(collectiveTimeout: timeout, connectTimeout: 10))
        }
    }

    /// Runs `body` for every rank on its own thread (collectives block) and returns the results
    /// in rank order.
    static func concurrently<T: Sendable>(
        _ ranks: [DistributedState], _ body: @escaping @Sendable (DistributedState) throws -> T
    ) async throws -> [T] {
        let results = ResultSlots<T>(count: ranks.count)
        let group = DispatchGroup()
        for (index, state) in ranks.enumerated() {
            DispatchQueue.global().async(group: group) { results.set(index, Result { try body(state) }) }
        }
        await withCheckedContinuation { continuation in group.notify(queue: .global()) { continuation.resume() } }
        return try results.values.map { try $0!.get() }
    }

    /// Waits until the control lines sent so far to `rank` were handled: they are handled in order,
    /// so the answer to a stack request sent after them proves it.
    static func sync(_ listener: TestListener, rank: Int, tag: String) async throws {
        listener.deliver(ControlLine.stackRequest(id: tag).line, toRanks: [rank])
        try await listener.waitUntil("the answer to \(tag)") { _ in
            listener.lines(ofRank: rank).contains { line in
                if case let .stack(id, _)? = decodeEvent(line)?.body { id == tag } else { false }
            }
        }
    }

    @Test func test_singleProcessPrimitivesAreNoOpsThatStillReport() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let state = try DistributedState(environment: ["RANKTOP_ADDR": listener.address])
        #expect(state.rank == 0 && state.worldSize == 1 && state.isMainProcess && state.isLocalMainProcess)
        try state.waitForEveryone(name: "solo")
        #expect(try state.mainProcessFirst(name: "prepare") { 42 } == 42)
        #expect(try state.checkTrigger() == false)
        state.setTrigger(reason: "done")
        #expect(try state.checkTrigger() == true)
        #expect(try state.checkTrigger() == false)
        state.progress(step: 3, total: 10, metrics: ["loss": 0.5])
        state.finish()

        try await listener.waitUntil("bye") { $0.joined().contains { decodeEvent($0)?.kind == .bye } }
        let kinds = listener.allLines.compactMap(decodeEvent).map(\.kind.rawValue)
        #expect(kinds == [
            "hello", "barrier.enter", "barrier.exit", "phase.enter", "barrier.enter", "barrier.exit", "phase.exit",
            "trigger.check", "trigger.set", "trigger.check", "trigger.check", "progress", "bye",
        ])
        guard case let .hello(hello)? = decodeEvent(listener.allLines[0])?.body else { return }
        #expect(hello.world == 1 && hello.runtime == "ranktop-swift/0.1" && hello.caps == ["inject", "stack"])
        #expect(hello.timeout == 1800)
    }

    @Test func test_sameInjectionIdTwiceActsOnceAcrossRanksAndChecks() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let ranks = try Self.ranks(world: 2, listener: listener)
        try await listener.waitUntil("both hellos") { _ in !listener.lines(ofRank: 0).isEmpty && !listener.lines(ofRank: 1).isEmpty }
        let inject = ControlLine.inject(id: "inj-7", reason: "enough").line

        listener.deliver(inject, toRanks: [0])
        try await Self.sync(listener, rank: 0, tag: "s0")
        #expect(try await Self.concurrently(ranks) { try $0.checkTrigger() } == [true, true])

        // The same id again, late on rank 1 and twice on rank 0: nothing fires.
        listener.deliver(inject, toRanks: [1])
        listener.deliver(inject, toRanks: [0])
        try await Self.sync(listener, rank: 0, tag: "s1")
        try await Self.sync(listener, rank: 1, tag: "s2")
        #expect(try await Self.concurrently(ranks) { try $0.checkTrigger() } == [false, false])
        for state in ranks.reversed() { state.finish() }

        let sets0 = listener.lines(ofRank: 0).compactMap(decodeEvent).compactMap(\.triggerSet)
        let sets1 = listener.lines(ofRank: 1).compactMap(decodeEvent).compactMap(\.triggerSet)
        #expect(sets0 == [TriggerSet(source: .manual, reason: "enough", id: "inj-7")])
        #expect(sets1.isEmpty)
    }

    @Test func test_stackRequestShowsTheBarrierTheBlockedRankIsIn() async throws {
        let listener = try TestListener()
        defer { listener.stop() }
        let ranks = try Self.ranks(world: 2, listener: listener)
        let done = DispatchSemaphore(value: 0)
        let rank0 = ranks[0]
        DispatchQueue.global().async {
            try? rank0.withActivity("train loop") { try rank0.waitForEveryone(name: "save") }
            done.signal()
        }
        try await listener.waitUntil("rank 0 in the barrier") { _ in
            listener.lines(ofRank: 0).contains { decodeEvent($0)?.barrierEnter?.name == "save" }
        }
        listener.deliver(ControlLine.stackRequest(id: "where").line, toRanks: [0])
        try await listener.waitUntil("the stack answer") { _ in
            listener.lines(ofRank: 0).contains { $0.contains("\"kind\":\"stack\"") }
        }
        try ranks[1].waitForEveryone(name: "save")
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                done.wait()
                continuation.resume()
            }
        }
        for state in ranks.reversed() { state.finish() }

        let stack = listener.lines(ofRank: 0).compactMap(decodeEvent).first { $0.kind == .stack }
        guard case let .stack(id, frames)? = stack?.body else { return }
        #expect(id == "where")
        #expect(frames.count == 2)
        #expect(frames.first == "train loop")
        #expect(frames.last?.hasPrefix("waitForEveryone(name: \"save\") at RanktopRuntimeTests/DistributedStateTests.swift:") == true)
        #expect(frames.last?.contains(", waiting ") == true)
    }

    @Test func test_aCollectiveTimeoutNamesTheMissingRank() async throws {
        let ranks = try Self.ranks(world: 2, timeout: 0.5)
        #expect {
            try ranks[0].waitForEveryone(name: "lonely")
        } throws: { error in
            let message = String(describing: error)
            return message.contains("rank 0: barrier 0 'lonely'") && message.contains("timed out after 0.5 s")
                && message.contains("missing: rank 1")
        }
        // The communicator is unusable afterwards, and says so rather than hanging.
        #expect(throws: RendezvousError.self) { try ranks[0].checkTrigger() }
    }

    @Test func test_theStoreRefusesAWrongWorldSizeAndADuplicateRank() async throws {
        let port = try RankProcesses.freePort()
        let rank0 = try DistributedState(environment: Self.environment(rank: 0, world: 2, port: port))
        defer { rank0.finish() }
        #expect {
            try DistributedState(environment: Self.environment(rank: 1, world: 3, port: port))
        } throws: { String(describing: $0).contains("rank 1 has WORLD_SIZE=3 but rank 0 has WORLD_SIZE=2") }
        let rank1 = try DistributedState(environment: Self.environment(rank: 1, world: 2, port: port))
        defer { rank1.finish() }
        #expect {
            try DistributedState(environment: Self.environment(rank: 1, world: 2, port: port))
        } throws: { String(describing: $0).contains("two processes joined as rank 1") }
    }

    @Test func test_launchEnvironmentDefaultsAndMistakes() async throws {
        let single = try LaunchEnvironment(parsing: [:])
        #expect(single == .singleProcess)
        let worker = try LaunchEnvironment(parsing: [
            "RANK": "5", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4", "MASTER_ADDR": "gpu-1", "MASTER_PORT": "29501",
        ])
        #expect(worker.localRank == 1)
        #expect(worker.masterAddress == "gpu-1" && worker.masterPort == 29501)
        #expect(throws: RendezvousError.self) { try LaunchEnvironment(parsing: ["WORLD_SIZE": "2", "MASTER_PORT": "1"]) }
        #expect(throws: RendezvousError.self) { try LaunchEnvironment(parsing: ["WORLD_SIZE": "two"]) }
        #expect(throws: RendezvousError.self) {
            try LaunchEnvironment(parsing: ["WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "3", "MASTER_ADDR": "a", "MASTER_PORT": "1"])
        }
    }
}

/// Results written by several threads, each to its own slot.
final class ResultSlots<T: Sendable>: Sendable {
    private let slots: NIOLockedValueBox<[Result<T, any Error>?]>

    init(count: Int) {
        slots = NIOLockedValueBox(Array(repeating: nil, count: count))
    }

    func set(_ index: Int, _ result: Result<T, any Error>) {
        slots.withLockedValue { $0[index] = result }
    }

    var values: [Result<T, any Error>?] { slots.withLockedValue { $0 } }
}

extension DistributedStateTests {
    @Test func test_primitivesAfterFinishFailClearlyAndCloseTwiceIsHarmless() async throws {
        let ranks = try Self.ranks(world: 2)
        for state in ranks.reversed() { state.finish() }
        ranks[0].finish()
        #expect {
            try ranks[0].waitForEveryone(name: "late")
        } throws: { String(describing: $0).contains("this rank already finished") }
    }
}
