import RanktopTestSupport
import Foundation
import NIOConcurrencyHelpers
import RanktopEmitter
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#endif

/// A tiny Unix-socket listener standing in for a collector: it records every line each
/// connection sends, can write control lines back, drop a connection, or stop reading.
/// Deliberately not the real collector: the emitter is tested against the protocol alone.
final class TestListener: Sendable {
    // Connections live in `state` and are only touched (fds closed too) under its lock.
    struct Connection {
        var fd: Int32
        var lines: [String] = []
        var pending: [UInt8] = []
        var open = true
    }

    struct State {
        var connections: [Connection] = []
        var reading = true
        var stopped = false
    }

    let path: String
    private let listenFD: Int32
    private let state = NIOLockedValueBox(State())
    private let finished = DispatchSemaphore(value: 0)

    init(path: String? = nil) throws {
        let path = path ?? TestListener.temporarySocketPath()
        self.path = path
        let fd = try PosixSocket.listen(unixPath: path, backlog: 16).fd
        listenFD = fd
        let box = state
        let finished = finished
        Thread.detachNewThread {
            TestListener.serve(listenFD: fd, state: box)
            finished.signal()
        }
    }

    static func temporarySocketPath() -> String {
        "/tmp/ranktop-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    var address: String { "unix:\(path)" }

    /// Lines of every connection, in order.
    var connections: [[String]] { state.withLockedValue { $0.connections.map(\.lines) } }
    var allLines: [String] { connections.flatMap { $0 } }

    /// Stops reading: the emitter's socket fills up, as with a stuck collector.
    func pauseReading() { state.withLockedValue { $0.reading = false } }
    func resumeReading() { state.withLockedValue { $0.reading = true } }

    /// Writes `line` to the newest open connection.
    func send(_ line: String) {
        state.withLockedValue { state in
            guard let index = state.connections.lastIndex(where: \.open) else { return }
            TestListener.write(line, to: state.connections[index].fd)
        }
    }

    /// Writes `line` to every open connection whose first line is a `hello` of one of `ranks`
    /// (every rank when nil), as the collector delivers an injection.
    func deliver(_ line: String, toRanks ranks: Set<Int>? = nil) {
        state.withLockedValue { state in
            for connection in state.connections where connection.open {
                guard let rank = connection.lines.first.flatMap(TestListener.helloRank) else { continue }
                if ranks?.contains(rank) ?? true { TestListener.write(line, to: connection.fd) }
            }
        }
    }

    /// Lines of the connections that began with a `hello` of `rank`, in order.
    func lines(ofRank rank: Int) -> [String] {
        connections.filter { $0.first.flatMap(TestListener.helloRank) == rank }.flatMap { $0 }
    }

    private static func helloRank(_ line: String) -> Int? {
        guard line.hasPrefix("{\"kind\":\"hello\""), let range = line.range(of: "\"rank\":") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber || $0 == "-" })
    }

    private static func write(_ line: String, to fd: Int32) {
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Closes every open connection, as a collector that drops a rank would; keeps listening.
    func dropConnections() {
        state.withLockedValue { state in
            for index in state.connections.indices where state.connections[index].open {
                close(state.connections[index].fd)
                state.connections[index].open = false
            }
        }
    }

    /// Stops listening and closes everything, as a collector that died would.
    func stop() {
        dropConnections()
        state.withLockedValue { $0.stopped = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        finished.wait()
        close(listenFD)
        unlink(path)
    }

    /// Polls until `condition` holds for the connections' lines, or fails after `timeout`.
    /// Sleeps between polls without holding a thread: Swift Testing runs every suite on a small
    /// shared pool, and a blocked pool thread would stall other suites' tests.
    func waitUntil(timeout: Double = 10, _ what: String, _ condition: ([[String]]) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(connections) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TestFailure("timed out after \(timeout) s waiting for \(what); got \(connections.map(\.count)) lines per connection")
    }

    private static func serve(listenFD: Int32, state: NIOLockedValueBox<State>) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let (stopped, reading, fds) = state.withLockedValue { ($0.stopped, $0.reading, $0.connections.filter(\.open).map(\.fd)) }
            if stopped { return }
            var entries = [pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)]
            if reading { entries += fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) } }
            guard poll(&entries, nfds_t(entries.count), 20) > 0 else { continue }
            if entries[0].revents & Int16(POLLIN) != 0 {
                let client = accept(listenFD, nil, nil)
                if client >= 0 { state.withLockedValue { $0.connections.append(Connection(fd: client)) } }
            }
            for entry in entries.dropFirst() where entry.revents != 0 {
                state.withLockedValue { state in
                    guard let index = state.connections.firstIndex(where: { $0.fd == entry.fd && $0.open }) else { return }
                    let got = buffer.withUnsafeMutableBytes { recv(entry.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if got <= 0 {
                        if got == 0 || (errno != EAGAIN && errno != EINTR) {
                            close(entry.fd)
                            state.connections[index].open = false
                        }
                        return
                    }
                    state.connections[index].pending += buffer[..<got]
                    while let newline = state.connections[index].pending.firstIndex(of: 0x0A) {
                        let line = String(decoding: state.connections[index].pending[..<newline], as: UTF8.self)
                        state.connections[index].lines.append(line)
                        state.connections[index].pending.removeSubrange(...newline)
                    }
                }
            }
        }
    }
}

