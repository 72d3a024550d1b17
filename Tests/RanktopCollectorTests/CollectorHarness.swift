import RanktopTestSupport
import Foundation
import RanktopModel
import RanktopProtocol
import RanktopCollector
import RanktopEmitter
#if canImport(Glibc)
import Glibc
#endif

/// A collector on a Unix socket in a fresh temporary directory, with its log beside it.
struct CollectorHarness {
    let directory: String
    let collector: Collector
    let address: Address

    /// The silence and hello timeouts are long unless a test is about them: on CI's two cores a
    /// busy test pool has held a waiting test for over 30 s, and a collector that then dropped
    /// the quiet rank as silent wrote a third event into a log the test waited to hold two.
    static func start(
        token: String? = nil, listen: [Address]? = nil, silenceTimeout: Double = 600, identifyTimeout: Double = 120,
        existingLog: String? = nil, logPath: String? = nil, stackAfter: Double = 0, flushInterval: Double = 0.1
    ) async throws -> CollectorHarness {
        let directory = NSTemporaryDirectory() + "ranktop-collector-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = CollectorConfiguration(
            listen: listen ?? [.unix(path: directory + "/c.sock")], logPath: existingLog ?? logPath ?? directory + "/run.jsonl",
            runID: "r-test", token: token, silenceTimeout: silenceTimeout, flushInterval: flushInterval, identifyTimeout: identifyTimeout,
            stackAfter: stackAfter
        )
        let collector = try Collector(configuration: configuration)
        let addresses = try await collector.start()
        return CollectorHarness(directory: directory, collector: collector, address: addresses[0])
    }

    func stop() async {
        await collector.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var logPath: String { collector.logPath }

    /// Every event in the log, after a flush; without the collector's own start and end records
    /// unless asked, since most tests look at what the ranks sent.
    func logEvents(includingCollectorRecords: Bool = false) throws -> [Event] {
        var events: [Event] = []
        try EventLogReader.read(path: logPath) { event in
            if includingCollectorRecords || event.kind != .collector { events.append(event) }
        }
        return events
    }

    /// The log's lines, without the collector's own start and end records.
    func logLines() throws -> [String] {
        try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n").map(String.init)
            .filter { !$0.hasPrefix(#"{"kind":"collector","#) }
    }

    /// Waits until `condition` holds on the log's events (polling), or fails after `timeout` s.
    func waitForLog(timeout: Double = 30, _ what: String, _ condition: ([Event]) -> Bool) async throws -> [Event] {
        try await RanktopTestSupport.waitFor(what, timeout: timeout) { () throws -> [Event]? in
            let events = try logEvents()
            return condition(events) ? events : nil
        }
    }
}

/// A hand-driven rank: raw lines over a plain socket, control lines read back.
final class RawRank {
    let socket: PosixSocket
    private var pending: [UInt8] = []

    init(_ address: Address) throws {
        switch address {
        case let .unix(path): socket = try PosixSocket.connect(unixPath: path, timeout: 2)
        case let .tcp(host, port): socket = try PosixSocket.connect(host: host, port: port, timeout: 2)
        case .sharedMemory: throw TestFailure("no raw shm rank")
        }
    }

    func send(_ text: String) throws {
        try socket.sendAll(Array(text.utf8), timeout: 2)
    }

    func send(_ event: Event) throws {
        try Self.send(event, over: socket)
    }

    /// What `send` does, on a socket alone: for a thread of its own, which cannot take the rank.
    static func send(_ event: Event, over socket: PosixSocket) throws {
        try socket.sendAll(Array(EventEncoder.line(event).utf8), timeout: 2)
    }

    static func hello(rank: Int, world: Int = 2, pid: Int = 1000, token: String? = nil, run: String = "r-test") -> Event {
        Event(rank: rank, ts: 1, seq: 0, .hello(Hello(
            run: run, world: world, localRank: rank, localWorld: world, node: "n", pid: pid + rank,
            runtime: "test", caps: ["inject", "stack"], token: token
        )))
    }

    /// The next line the collector sends, or nil after `timeout` seconds or when it closed.
    /// Polls without blocking, so that waiting tests leave Swift's few pool threads to others.
    func readLine(timeout: Double = 5) async -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                return line
            }
            if PosixSocket.poll(socket.fd, events: Int16(POLLIN), timeout: 0) != 0 {
                switch buffer.withUnsafeMutableBytes({ socket.receive(into: $0) }) {
                case let .bytes(count): pending += buffer[..<count]
                case .wouldBlock: break
                case .closed: return nil
                }
                continue
            }
            guard Date() < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Whether the collector closed this connection within `timeout` seconds.
    /// Returns as soon as it is closed: the long default only matters on a loaded machine.
    func isClosedByPeer(timeout: Double = 20) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            if PosixSocket.poll(socket.fd, events: Int16(POLLIN), timeout: 0) != 0 {
                if case .closed = buffer.withUnsafeMutableBytes({ socket.receive(into: $0) }) { return true }
                continue
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    func close() { socket.close() }
}
