import Atomics
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopEmitter
import RanktopProtocol

/// The store rank 0 hosts at `MASTER_ADDR:MASTER_PORT`, in the manner of torch's TCPStore: rank 0
/// listens, every rank (rank 0 included) connects. It knows one operation, a reduce-max over a
/// named collective that answers once every rank has contributed; barriers and trigger checks are
/// both built on it. Served by one thread polling every connection.
final class RendezvousServer: Sendable {
    let port: Int
    private let stopRequested = ManagedAtomic<Bool>(false)
    private let otherRanksConnected = ManagedAtomic<Int>(0)
    private let finished = DispatchSemaphore(value: 0)

    /// Listens on `host` when it is a loopback address (nothing beyond this machine needs the
    /// store then), otherwise on every interface, as TCPStore does.
    init(host: String, port: Int, world: Int, run: String) throws(RendezvousError) {
        let bindHost = RendezvousServer.isLoopback(host) ? host : ""
        let listener: PosixSocket
        do {
            listener = try PosixSocket.listen(host: bindHost, port: port)
        } catch {
            let hint = error.code == EADDRINUSE
                ? " (another run on this port? give each run its own MASTER_PORT)" : ""
            throw RendezvousError("rank 0 cannot host the rendezvous store on \(host):\(port): \(error.description)\(hint)")
        }
        self.port = listener.localPort ?? port
        let stopRequested = stopRequested
        let otherRanksConnected = otherRanksConnected
        let finished = finished
        DetachedThread.start(name: "ranktop-rendezvous", stackSize: 512 * 1024) {
            RendezvousServerLoop(listener: listener, world: world, run: run).run(until: stopRequested, otherRanksConnected: otherRanksConnected)
            finished.signal()
        }
    }

    /// Waits (at most `timeout` seconds) until every other rank has disconnected, so that rank 0,
    /// which answers last, does not take the store down while others still read their answers.
    func waitForOtherRanksToLeave(timeout: Double) {
        let deadline = MonotonicClock.now + timeout
        while otherRanksConnected.load(ordering: .relaxed) > 0, MonotonicClock.now < deadline {
            usleep(10_000)
        }
    }

    func stop() {
        guard !stopRequested.exchange(true, ordering: .relaxed) else { return }
        finished.wait()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// The server thread's state; confined to that thread.
private final class RendezvousServerLoop {
    private struct Peer {
        let socket: PosixSocket
        var frames = FrameBuffer()
        var rank: Int?
    }

    private struct Collective {
        var arrived: [Int: Int32] = [:]
        var value = Int.min
        var ids: [String] = []
    }

    private let listener: PosixSocket
    private let world: Int
    private let run: String
    private var peers: [Int32: Peer] = [:]
    private var rankSockets: [Int: Int32] = [:]
    private var departed: Set<Int> = []
    private var collectives: [String: Collective] = [:]
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(listener: PosixSocket, world: Int, run: String) {
        self.listener = listener
        self.world = world
        self.run = run
    }

    func run(until stopRequested: ManagedAtomic<Bool>, otherRanksConnected: ManagedAtomic<Int>) {
        while !stopRequested.load(ordering: .relaxed) {
            var entries = [pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)]
            entries += peers.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&entries, nfds_t(entries.count), 100) > 0 else { continue }
            if entries[0].revents != 0 {
                while let socket = listener.accept() { peers[socket.fd] = Peer(socket: socket) }
            }
            for entry in entries.dropFirst() where entry.revents != 0 {
                read(from: entry.fd)
            }
            otherRanksConnected.store(rankSockets.keys.filter { $0 != 0 }.count, ordering: .relaxed)
        }
        for peer in peers.values { peer.socket.close() }
        listener.close()
    }

    private func read(from fd: Int32) {
        guard let socket = peers[fd]?.socket else { return }
        while true {
            let result = readBuffer.withUnsafeMutableBytes { socket.receive(into: $0) }
            switch result {
            case let .bytes(count):
                peers[fd]?.frames.append(readBuffer[..<count])
            case .wouldBlock:
                handleFrames(from: fd)
                return
            case .closed:
                handleFrames(from: fd)
                drop(fd)
                return
            }
        }
    }

    private func handleFrames(from fd: Int32) {
        while let next = peers[fd]?.frames.next() {
            switch next {
            case .incomplete:
                return
            case .malformed:
                reply(.failure("malformed rendezvous message: is something other than a ranktop rank connecting to MASTER_PORT?"), to: fd)
                drop(fd)
                return
            case let .message(message):
                handle(message, from: fd)
            }
        }
    }

    private func handle(_ message: RendezvousMessage, from fd: Int32) {
        switch message {
        case let .join(rank, world, _):
            if world != self.world {
                reply(.failure("rank \(rank) has WORLD_SIZE=\(world) but rank 0 has WORLD_SIZE=\(self.world): every rank must be launched with the same WORLD_SIZE"), to: fd)
            } else if !(0..<world).contains(rank) {
                reply(.failure("RANK=\(rank) is outside 0..<\(world)"), to: fd)
            } else if rankSockets[rank] != nil {
                reply(.failure("two processes joined as rank \(rank): every process needs its own RANK"), to: fd)
            } else {
                peers[fd]?.rank = rank
                rankSockets[rank] = fd
                departed.remove(rank)
                reply(.joined(run: run), to: fd)
            }
        case let .reduce(key, value, ids):
            guard let rank = peers[fd]?.rank else {
                reply(.failure("a collective before joining"), to: fd)
                return
            }
            var collective = collectives[key] ?? Collective()
            guard collective.arrived[rank] == nil else {
                reply(.failure("rank \(rank) entered collective \(key) twice"), to: fd)
                return
            }
            collective.arrived[rank] = fd
            collective.value = max(collective.value, value)
            for id in ids where !collective.ids.contains(id) { collective.ids.append(id) }
            if collective.arrived.count == world {
                collectives[key] = nil
                // Rank 0 hears last: once it goes on (and perhaps exits), every answer is out.
                let answer = RendezvousMessage.reduced(value: collective.value, ids: collective.ids)
                for (peerRank, peerFD) in collective.arrived.sorted(by: { $0.key > $1.key })
                where peers[peerFD]?.rank == peerRank {
                    reply(answer, to: peerFD)
                }
            } else {
                collectives[key] = collective
            }
        case let .status(key):
            let arrived = collectives[key].map { Array($0.arrived.keys).sorted() } ?? []
            reply(.statusReport(arrived: arrived, departed: departed.sorted()), to: fd)
        case .joined, .reduced, .statusReport, .failure:
            reply(.failure("unexpected message from a rank"), to: fd)
        }
    }

    private func reply(_ message: RendezvousMessage, to fd: Int32) {
        guard let socket = peers[fd]?.socket else { return }
        do {
            try socket.sendAll(message.frame, timeout: 5)
        } catch {
            drop(fd)
        }
    }

    private func drop(_ fd: Int32) {
        guard let peer = peers.removeValue(forKey: fd) else { return }
        peer.socket.close()
        if let rank = peer.rank, rankSockets[rank] == fd {
            rankSockets[rank] = nil
            departed.insert(rank)
        }
    }
}
