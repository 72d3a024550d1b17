#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import RanktopEmitter
import RanktopProtocol

/// One rank's connection to the store rank 0 hosts. Collectives block the calling thread until
/// every rank has contributed, the collective timeout passes, or the store goes away.
final class RendezvousClient: Sendable {
    let rank: Int
    let world: Int
    let endpoint: String
    /// The run id rank 0 chose, shared by every rank.
    let run: String
    private let channel: RendezvousChannel
    /// The reader's buffer and whether the connection is still usable; the lock also serializes
    /// collectives, as one communicator does.
    private let reader: NIOLockedValueBox<RendezvousChannel.Reader>

    /// Connects (retrying until rank 0 listens, for at most `connectTimeout` seconds) and joins.
    init(host: String, port: Int, rank: Int, world: Int, proposedRun: String, connectTimeout: Double) throws(RendezvousError) {
        self.rank = rank
        self.world = world
        endpoint = "\(host):\(port)"
        let deadline = MonotonicClock.now + connectTimeout
        var lastFailure = "nothing listened"
        var connected: PosixSocket?
        while connected == nil {
            let left = deadline - MonotonicClock.now
            guard left > 0 else {
                throw RendezvousError(
                    "rank \(rank): no rendezvous store at \(host):\(port) after \(formatSeconds(connectTimeout)) (\(lastFailure)); "
                        + "rank 0 hosts it: is rank 0 running, and do all ranks have the same MASTER_ADDR and MASTER_PORT?")
            }
            do {
                connected = try PosixSocket.connect(host: host, port: port, timeout: min(left, 2))
            } catch {
                lastFailure = error.description
                usleep(50_000)
            }
        }
        let socket = connected!
        channel = RendezvousChannel(socket: socket, rank: rank, world: world, endpoint: endpoint)
        var joining = RendezvousChannel.Reader()
        let answer = channel.exchange(
            .join(rank: rank, world: world, run: proposedRun), &joining, timeout: max(deadline - MonotonicClock.now, 5),
            waitingFor: "joining the rendezvous")
        switch answer {
        case let .success(.joined(run)):
            self.run = run
        case let .success(other):
            socket.close()
            throw RendezvousError("rank \(rank): unexpected answer from the rendezvous store at \(endpoint): \(other)")
        case let .failure(error):
            socket.close()
            throw error
        }
        reader = NIOLockedValueBox(joining)
    }

    /// Contributes `value` and `ids` to collective `key`; returns the largest value and every id
    /// that any rank contributed. `what` names the collective in errors ("barrier 3 'save'").
    func reduceMax(key: String, value: Int, ids: [String], timeout: Double, what: String) throws(RendezvousError) -> (value: Int, ids: [String]) {
        let answer = reader.withLockedValue { reader in
            channel.exchange(.reduce(key: key, value: value, ids: ids), &reader, timeout: timeout, waitingFor: what, statusKey: key)
        }
        switch answer {
        case let .success(.reduced(value, ids)):
            return (value, ids)
        case let .success(other):
            throw RendezvousError("rank \(rank): \(what): unexpected answer from the rendezvous store: \(other)")
        case let .failure(error):
            throw error
        }
    }

    /// Closes the connection; later collectives fail at once instead of touching a descriptor
    /// that may have been reused.
    private static let finished = "this rank already finished"

    func close() {
        reader.withLockedValue { reader in
            guard reader.broken != RendezvousClient.finished else { return }
            reader.broken = RendezvousClient.finished
            channel.socket.close()
        }
    }
}

/// Request and answer over the store connection, with the timeouts and the error texts.
private struct RendezvousChannel: Sendable {
    struct Reader {
        var frames = FrameBuffer()
        var broken: String?
    }

    let socket: PosixSocket
    let rank: Int
    let world: Int
    let endpoint: String

    func exchange(
        _ request: RendezvousMessage, _ reader: inout Reader, timeout: Double, waitingFor what: String, statusKey: String? = nil
    ) -> Result<RendezvousMessage, RendezvousError> {
        if let broken = reader.broken {
            return .failure(RendezvousError("rank \(rank): \(what): the rendezvous failed earlier (\(broken))"))
        }
        do {
            try socket.sendAll(request.frame, timeout: 10)
        } catch {
            reader.broken = "the store at \(endpoint) went away"
            return .failure(storeGone(what))
        }
        let outcome = receive(&reader, until: MonotonicClock.now + timeout)
        switch outcome {
        case let .success(.failure(text)):
            reader.broken = text
            return .failure(RendezvousError("rank \(rank): \(what): \(text)"))
        case let .success(message):
            return .success(message)
        case .failure(.closed):
            reader.broken = "the store at \(endpoint) went away"
            return .failure(storeGone(what))
        case .failure(.timedOut):
            reader.broken = "\(what) timed out"
            var detail = ""
            if let statusKey, case let .success(.statusReport(arrived, departed)) = askStatus(statusKey, &reader) {
                detail = missingRanksText(arrived: arrived, departed: departed)
            }
            return .failure(RendezvousError(
                "rank \(rank): \(what) timed out after \(formatSeconds(timeout)) waiting for the other ranks\(detail)"))
        }
    }

    private enum ReceiveFailure: Error {
        case closed
        case timedOut
    }

    private func receive(_ reader: inout Reader, until deadline: Double) -> Result<RendezvousMessage, ReceiveFailure> {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            switch reader.frames.next() {
            case let .message(message): return .success(message)
            case .malformed: return .failure(.closed)
            case .incomplete: break
            }
            let left = deadline - MonotonicClock.now
            guard left > 0 else { return .failure(.timedOut) }
            // Wake now and then even without data, so a hung peer still ends in a clear timeout.
            PosixSocket.poll(socket.fd, events: Int16(POLLIN), timeout: min(left, 60))
            switch chunk.withUnsafeMutableBytes({ socket.receive(into: $0) }) {
            case let .bytes(count): reader.frames.append(chunk[..<count])
            case .wouldBlock: continue
            case .closed: return .failure(.closed)
            }
        }
    }

    private func askStatus(_ key: String, _ reader: inout Reader) -> Result<RendezvousMessage, ReceiveFailure> {
        do {
            try socket.sendAll(RendezvousMessage.status(key: key).frame, timeout: 2)
        } catch {
            return .failure(.closed)
        }
        return receive(&reader, until: MonotonicClock.now + 2)
    }

    private func missingRanksText(arrived: [Int], departed: [Int]) -> String {
        let missing = (0..<world).filter { !arrived.contains($0) }
        guard !missing.isEmpty else { return "" }
        var text = "; missing: rank\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", "))"
        let gone = missing.filter(departed.contains)
        if !gone.isEmpty {
            text += " (disconnected: \(gone.map(String.init).joined(separator: ", ")))"
        }
        return text
    }

    private func storeGone(_ what: String) -> RendezvousError {
        RendezvousError(
            "rank \(rank): \(what): the rendezvous store at \(endpoint) went away (rank 0 exited or crashed)", storeGone: true)
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
}
