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
                emit(.bye(code: 128 + Int(signalNumber), error: "stopped by \(name)"))
                emitter?.close(timeout: 0.5)
                _exit(128 + signalNumber)
            }
            source.resume()
            signalSources.withLockedValue { $0.append(RetainedSignalSource(source: source)) }
        }
    }
}

/// A dispatch signal source kept only so it stays alive. `@unchecked` because Dispatch does not
/// mark its sources Sendable; this one is never touched again after `resume()`, so nothing races.
struct RetainedSignalSource: @unchecked Sendable {
    let source: any DispatchSourceSignal
}
