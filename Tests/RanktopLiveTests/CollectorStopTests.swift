import Foundation
import Glibc
import RanktopTestSupport
import Testing

/// Stopping `serve` loses nothing a rank that has exited already sent: its last events and its
/// `bye`, still in the socket because the collector was behind, are read before the connection
/// closes. (As built, NIO's close waits while the connection's loop is still reading: 1.45 s for
/// 18 MB in a debug build, by `strace`.)
@Suite struct CollectorStopTests {
    /// Connects, says hello and waits for SIGUSR1; then writes `steps` progress events and its
    /// `bye` into a send buffer big enough to hold them all (SO_SNDBUFFORCE: root), and exits.
    static let writer = #"""
import json, os, signal, socket, sys, time
steps = int(sys.argv[1])
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})  # pending until sigwait, however early it comes
sock = socket.socket(socket.AF_UNIX)
sock.setsockopt(socket.SOL_SOCKET, 32, 64 << 20)  # SO_SNDBUFFORCE
sock.connect(os.environ["RANKTOP_ADDR"][len("unix:"):])
def line(kind, seq, **fields):
    event = {"kind": kind, "rank": 0, "ts": round(time.time(), 6), "seq": seq}
    event.update(fields)
    return (json.dumps(event, separators=(",", ":")) + "\n").encode()
sock.sendall(line("hello", 0, v=1, run="stop-drain", world=1, local_rank=0, local_world=1, node="n", pid=os.getpid(), runtime="test"))
print("connected", flush=True)
signal.sigwait({signal.SIGUSR1})
sock.sendall(b"".join(line("progress", step, step=step, total=steps) for step in range(1, steps + 1)) + line("bye", steps + 1, code=0))
print("sent", flush=True)
"""#

    @Test(.enabled(if: getuid() == 0, "needs root for a send buffer larger than the system's limit"))
    func aRankThatExitedWhileTheCollectorWasBehindHasItsLastEventsAndByeLogged() async throws {
        let scratch = try Scratch()
        let log = scratch.file("run.jsonl")
        let socket = "unix:\(scratch.file("c.sock"))"
        let serve = try LiveProcess(["serve", "--listen", socket, "--log", log], in: scratch)
        _ = try await serve.waitForOutput("collector listening", timeout: 20)
        let steps = 100_000
        let writer = try LiveProcess(["-c", Self.writer, "\(steps)"], executable: "/usr/bin/python3", environment: ["RANKTOP_ADDR": socket], in: scratch)
        try await LiveLog.waitFor(log, "the writer's hello", timeout: 20) { objects in objects.contains { $0["kind"] as? String == "hello" } }

        // The collector stopped, the rank sends everything and exits: about 8 MB wait in the
        // socket, which the collector, continued, is stopped before it could read.
        serve.signal(SIGSTOP)
        writer.signal(SIGUSR1)
        #expect(try await writer.wait(timeout: 60) == 0, "\(writer.output)")
        #expect(writer.stdout.contains("sent"))
        serve.signal(SIGINT)
        serve.signal(SIGCONT)
        #expect(try await serve.wait(timeout: 30) == 0, "\(serve.output)")

        let json = try await report(log)
        #expect(json.states() == ["exited"], "\(json.ranks)")
        #expect(json.ranks.first?["step"] as? Int == steps)
        #expect(LiveLog.objects(log).filter { $0["kind"] as? String == "progress" }.count == steps)
    }
}
