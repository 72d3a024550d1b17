import NIOConcurrencyHelpers
import RanktopModel
import RanktopProtocol

/// What `ranktop stack` does: asks ranks of the run behind a collector for their stacks and
/// gathers the answers, matched to the requests by id, from a viewer connection.
public enum StackCollection {
    public struct Result: Sendable {
        /// The run the collector announced.
        public var run: String?
        /// The ranks asked, ascending.
        public var asked: [Int]
        public var stacks: [RankStack]
        /// Ranks that did not answer in time, and why where the collector said (not connected).
        public var missing: [Int: String]
    }

    /// What the viewer connection has shown so far.
    private struct Seen: Sendable {
        var world = 0
        var ended = false
        /// Answers by request id: a request's answer may come before its id does.
        var answers: [String: RankStack] = [:]
    }

    /// At most this many requests are in flight at once (each is a short connection).
    static let concurrentRequests = 64

    /// Connects to the collector at `address` as a viewer, asks `ranks` (nil: every rank of the
    /// run's world, learnt from its `hello`s) for their stacks, and waits up to `timeout` seconds
    /// for the answers. Throws a `TransportError` when the collector cannot be reached.
    public static func collect(at address: Address, token: String?, ranks requested: [Int]?, timeout: Double) async throws -> Result {
        let client = try await CollectorClient.connect(to: address, token: token, timeout: min(timeout, 5))
        let seen = NIOLockedValueBox(Seen())
        // One nudge per batch wakes whoever waits on what was seen; the deadline ends the waiting.
        let (updates, nudge) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let follower = Task {
            for await batch in client.batches() {
                seen.withLockedValue { seen in
                    for event in batch {
                        switch event.body {
                        case let .hello(hello): seen.world = max(seen.world, min(hello.world, 1 << 20), event.rank + 1)
                        case let .stack(id, frames): seen.answers[id] = RankStack(rank: event.rank, ts: event.ts, frames: frames)
                        default: break
                        }
                    }
                }
                nudge.yield()
            }
            seen.withLockedValue { $0.ended = true }
            nudge.finish()
        }
        defer { follower.cancel() }
        var waiter = updates.makeAsyncIterator()

        // Every rank: the world its hellos announce, once the history shows one.
        let ranks: [Int]
        if let requested {
            ranks = Array(Set(requested)).sorted()
        } else {
            let deadline = finishing(nudge, after: timeout)
            await wait(&waiter) { seen.withLockedValue { $0.world > 0 || $0.ended } }
            deadline.cancel()
            ranks = Array(0..<seen.withLockedValue { $0.world })
        }

        let sent = await requestAll(ranks, at: address, token: token, timeout: timeout)
        let ids = sent.compactMapValues { try? $0.get() }
        if !ids.isEmpty {
            let deadline = finishing(nudge, after: timeout)
            await wait(&waiter) { seen.withLockedValue { seen in seen.ended || ids.values.allSatisfy { seen.answers[$0] != nil } } }
            deadline.cancel()
        }
        let answers = seen.withLockedValue { $0.answers }
        var stacks: [RankStack] = []
        var missing: [Int: String] = [:]
        for rank in ranks {
            switch sent[rank] {
            case let .success(id)?:
                if let answer = answers[id] { stacks.append(answer) } else { missing[rank] = "no answer in \(Format.duration(timeout))" }
            case let .failure(error)?:
                missing[rank] = reason(error)
            case nil:
                missing[rank] = "not asked"
            }
        }
        return Result(run: client.run, asked: ranks, stacks: stacks, missing: missing)
    }

    /// Ends the nudges after `seconds`, unless cancelled first.
    private static func finishing(_ nudge: AsyncStream<Void>.Continuation, after seconds: Double) -> Task<Void, Never> {
        Task {
            guard (try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))) != nil else { return }
            nudge.finish()
        }
    }

    /// Waits for the next nudges until `done` holds or the nudges end (the deadline, the end).
    private static func wait(_ waiter: inout AsyncStream<Void>.Iterator, until done: () -> Bool) async {
        while !done() {
            guard await waiter.next() != nil else { return }
        }
    }

    /// One `stack.req` per rank, a few dozen at a time: each rank's request id, or why it failed.
    private static func requestAll(_ ranks: [Int], at address: Address, token: String?, timeout: Double) async -> [Int: Swift.Result<String, TransportError>] {
        await withTaskGroup(of: (Int, Swift.Result<String, TransportError>).self) { group in
            var results: [Int: Swift.Result<String, TransportError>] = [:]
            var pending = ranks[...]
            func addNext() {
                guard let rank = pending.popFirst() else { return }
                group.addTask {
                    do {
                        return (rank, .success(try await CollectorClient.requestStack(at: address, rank: rank, token: token, timeout: timeout)))
                    } catch let error as TransportError {
                        return (rank, .failure(error))
                    } catch {
                        return (rank, .failure(TransportError("\(error)")))
                    }
                }
            }
            for _ in 0..<concurrentRequests { addNext() }
            for await (rank, result) in group {
                results[rank] = result
                addNext()
            }
            return results
        }
    }

    /// The collector's refusal in a few words: `not connected`.
    private static func reason(_ error: TransportError) -> String {
        error.description.contains("is not connected") ? "not connected" : error.description
    }
}
