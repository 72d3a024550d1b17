import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension DistributedState {
    /// Makes SIGINT and SIGTERM (what launchers forward on Ctrl-C or teardown) end the process
    /// with a `bye` that says so, instead of a silent `lost`: the rank reports
    /// `code` 128+signal and "stopped by SIGTERM", flushes for at most half a second and exits.
    /// Opt-in, because it replaces the program's own handling of those signals.
    public func reportTerminationSignals() {
        for (signalNumber, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                terminationStarted.signal()
                emit(.bye(code: 128 + Int(signalNumber), error: "stopped by \(name)"))
                emitter?.close(timeout: 0.5)
                _exit(128 + signalNumber)
            }
            source.resume()
            signalSources.withLockedValue { $0.append(RetainedSignalSource(source: source)) }
        }
    }
}

extension DistributedState {
    /// How long a rank that lost the store waits for a termination signal before it calls the
    /// loss its failure. A launcher stopping the run signals every rank at once; rank 0, the
    /// store, may exit before another rank's handler has run, and that rank, in a collective,
    /// then saw the store go first and reported a failure the user's stop had caused (a
    /// fresh-clone CI: `ranks 0, 2 stopped by SIGTERM`, rank 1 `failed`).
    static let stopGrace = 1.0

    /// With termination signals reported: waits up to `stopGrace` for one; if it comes, its
    /// handler says `bye` and exits the process, and this thread waits for that.
    func awaitTheStopThatExplains() {
        guard !signalSources.withLockedValue({ $0.isEmpty }) else { return }
        guard terminationStarted.wait(timeout: .now() + DistributedState.stopGrace) == .success else { return }
        while true { pause() }
    }
}

/// A dispatch signal source kept only so it stays alive. `@unchecked` because Dispatch does not
/// mark its sources Sendable; this one is never touched again after `resume()`, so nothing races.
struct RetainedSignalSource: @unchecked Sendable {
    let source: any DispatchSourceSignal
}
