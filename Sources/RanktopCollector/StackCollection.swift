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

    /// The answers the viewer connection has shown so far.
    private struct Seen: Sendable {
        var ended = false
        /// Answers by request id: a request's answer may come before its id does.
        var answers: [String: RankStack] = [:]
    }

    /// At most this many requests are in flight at once (each is a short connection).
    static let concurrentRequests = 64

    /// Asks `ranks` (nil: every rank of the run's world, from its first `hello`) of the run behind
    /// the collector at `address` for their stacks, and waits up to `timeout` seconds for the
    /// answers, which it reads from a viewer of the events logged from now on (not the whole
    /// history, which a week-long run makes long). Throws a `TransportError` when the collector
    /// cannot be reached.
    public static func collect(at address: Address, token: String?, ranks requested: [Int]?, timeout: Double) async throws -> Result {
        let client = try await CollectorClient.connect(to: address, token: token, timeout: min(timeout, 5), fromEnd: true)
        let seen = NIOLockedValueBox(Seen())
        // One nudge per batch wakes whoever waits on what was seen; the deadline ends the waiting.
        let (updates, nudge) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let follower = Task {
            for await batch in client.batches() {
                seen.withLockedValue { seen in
                    for event in batch {
                        if case let .stack(id, frames) = event.body { seen.answers[id] = RankStack(rank: event.rank, ts: event.ts, frames: frames) }
                    }
                }
                nudge.yield()
            }
            seen.withLockedValue { $0.ended = true }
            nudge.finish()
        }
        defer { follower.cancel() }

        let ranks: [Int]
        if let requested {
            ranks = Array(Set(requested)).sorted()
        } else {
            ranks = Array(0..<(try await world(at: address, token: token, timeout: timeout)))
        }

        let sent = await requestAll(ranks, at: address, token: token, timeout: timeout)
        let ids = sent.compactMapValues { try? $0.get() }
        if !ids.isEmpty {
            let deadline = finishing(nudge, after: timeout)
            var waiter = updates.makeAsyncIterator()
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

    /// The run's world, from the first `hello` of the log's history (a second viewer, from the
    /// start, closed once it has one); 0 when none comes within `timeout` seconds.
    private static func world(at address: Address, token: String?, timeout: Double) async throws -> Int {
        let history = try await CollectorClient.connect(to: address, token: token, timeout: min(timeout, 5))
        return await withTaskGroup(of: Int?.self) { group in
            group.addTask {
                for await batch in history.batches() {
                    for event in batch {
                        if case let .hello(hello) = event.body { return max(min(hello.world, 1 << 20), event.rank + 1) }
                    }
                }
                return 0
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? 0
        }
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
