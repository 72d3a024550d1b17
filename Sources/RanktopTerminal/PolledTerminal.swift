import RanktopUI
#if canImport(Glibc)
import Glibc
#endif

/// The terminal as the app loop's `Screen`: waits in poll() on stdin, the inbox's wake pipe and
/// the signal pipe, so an idle dashboard sleeps until a key, an event, a signal or its next
/// frame. A termination signal becomes an inbox message, which ends the loop.
final class PolledTerminal: Screen {
    private let terminal: TerminalScreen
    private let inbox: DashboardInbox
    private let inboxWake: WakePipe
    private let signals: DashboardSignals

    init(terminal: TerminalScreen, inbox: DashboardInbox, inboxWake: WakePipe, signals: DashboardSignals) {
        self.terminal = terminal
        self.inbox = inbox
        self.inboxWake = inboxWake
        self.signals = signals
    }

    var size: Size { terminal.size }
    var capabilities: ScreenCapabilities { terminal.capabilities }
    func draw(_ canvas: Canvas) { terminal.draw(canvas) }
    func invalidate() { terminal.invalidate() }

    func readInputs(timeout: Double) -> [InputEvent] {
        var fds = [
            pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0),
            pollfd(fd: inboxWake.readFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: signals.pipe.readFD, events: Int16(POLLIN), revents: 0),
        ]
        _ = poll(&fds, nfds_t(fds.count), Int32((max(0, timeout) * 1000).rounded(.up)))
        _ = inboxWake.drain()
        if let signal = signals.takeTermination() { inbox.post(.interrupted(signal: signal)) }
        return terminal.readWaitingInputs()
    }
}
