import CNcursesShim
#if canImport(Glibc)
import Glibc
#endif

/// The dashboard's signal handling while it holds the terminal: SIGINT, SIGTERM and SIGHUP (when
/// no one else owns them) and SIGWINCH arrive as bytes on a pipe the wait polls; crash handlers
/// put the terminal back before the process dies.
final class DashboardSignals {
    let pipe: WakePipe

    /// `catchTermination`: false when a launcher owns the termination signals and tells the
    /// dashboard through its inbox instead.
    init(catchTermination: Bool) throws {
        pipe = try WakePipe()
        rt_install_signal_pipe(pipe.writeFD, catchTermination ? 1 : 0)
        rt_install_crash_handlers()
    }

    func restore() {
        rt_restore_signals()
    }

    /// The last termination signal that arrived since the previous call, if any.
    func takeTermination() -> Int32? {
        pipe.drain().map(Int32.init).last { $0 == SIGINT || $0 == SIGTERM || $0 == SIGHUP }
    }
}
