import NIOConcurrencyHelpers

/// Manual triggers the collector delivered, waiting for the training thread's next
/// `checkTrigger`. The emitter's thread drops them in; the training thread takes them out.
/// An id is applied once per run, however often it arrives and whichever rank applied it first.
final class InjectionInbox: Sendable {
    struct Injection: Equatable, Sendable {
        var id: String
        var reason: String?
    }

    private struct State {
        var pending: [Injection] = []
        var applied: Set<String> = []
    }

    private let state = NIOLockedValueBox(State())

    func receive(id: String, reason: String?) {
        state.withLockedValue { state in
            guard !state.applied.contains(id), !state.pending.contains(where: { $0.id == id }) else { return }
            state.pending.append(Injection(id: id, reason: reason))
        }
    }

    /// The injections to apply now; they count as applied from here on.
    func takeUnapplied() -> [Injection] {
        state.withLockedValue { state in
            let taken = state.pending.filter { !state.applied.contains($0.id) }
            state.pending.removeAll()
            for injection in taken { state.applied.insert(injection.id) }
            return taken
        }
    }

    /// Ids another rank applied at a collective check: arriving here later, they are no-ops.
    func markApplied(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        state.withLockedValue { state in
            state.applied.formUnion(ids)
            state.pending.removeAll { ids.contains($0.id) }
        }
    }
}
