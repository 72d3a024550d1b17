import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RanktopProtocol

/// Ranks, viewers and control requests over a Unix stream socket or TCP, one listener per address.
final class SocketTransport: Transport {
    let address: Address
    private let state = NIOLockedValueBox<State>(State())

    private struct State {
        var server: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        /// Viewer connections: left open at `stop()` so they can read the log to its end.
        var viewers: Set<ObjectIdentifier> = []
        var stopped = false
    }

    init(address: Address) {
        self.address = address
    }

    func start(collector: Collector) async throws -> Address {
        let silence = TimeAmount.milliseconds(Int64(collector.configuration.silenceTimeout * 1000))
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Reads of up to 64 KiB: a connection never holds more than that plus one line.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16384, maximum: 65536))
            .childChannelOption(.maxMessagesPerRead, value: 4)
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    self?.track(channel)
                    try channel.pipeline.syncOperations.addHandler(
                        CollectorConnectionHandler(collector: collector, silenceTimeout: silence, onViewer: { [weak self] in
                            self?.markViewer(channel)
                        })
                    )
                }
            }
        let server: any Channel
        switch address {
        case let .unix(path):
            try UnixSocketPath.prepare(path)
            server = try await bind { try await bootstrap.bind(unixDomainSocketPath: path).get() }
            UnixSocketPath.restrict(path)
        case let .tcp(host, port):
            server = try await bind { try await bootstrap.bind(host: host, port: port).get() }
        case .sharedMemory:
            throw TransportError("\(address) is not a socket address")
        }
        state.withLockedValue { $0.server = server }
        if case let .tcp(host, _) = address, let port = server.localAddress?.port {
            return .tcp(host: host, port: port)
        }
        return address
    }

    private func bind(_ body: () async throws -> any Channel) async throws -> any Channel {
        do {
            return try await body()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw TransportError("\(address): the address is already in use (another collector?)")
        } catch let error as IOError where error.errnoCode == EACCES {
            throw TransportError("\(address): permission denied")
        } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL {
            throw TransportError("\(address): no such address on this machine")
        } catch let error as IOError {
            // NIO's description names its own internals (`bind(descriptor:ptr:bytes:)`).
            throw TransportError("\(address): cannot listen: \(String(cString: strerror(error.errnoCode)))")
        } catch let error as SocketAddressError.UnknownHost {
            throw TransportError("\(address): cannot listen: no such host '\(error.host)' (\(error.errorDescription))")
        } catch is SocketAddressError {
            throw TransportError("\(address): cannot listen: not a usable address")
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError("\(address): cannot listen: \(error)")
        }
    }

    private func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        let accepted = state.withLockedValue { state -> Bool in
            guard !state.stopped else { return false }
            state.connections[key] = channel
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.state.withLockedValue { $0.connections.removeValue(forKey: key) }
        }
    }

    private func markViewer(_ channel: any Channel) {
        _ = state.withLockedValue { $0.viewers.insert(ObjectIdentifier(channel)) }
    }

    func stop() async {
        let (server, ranks) = state.withLockedValue { state in
            state.stopped = true
            return (state.server, state.connections.filter { !state.viewers.contains($0.key) }.map(\.value))
        }
        try? await server?.close().get()
        for connection in ranks { try? await connection.close().get() }
        if case let .unix(path) = address { unlink(path) }
    }

    func finish() async {
        // Viewers close themselves once they have read the closed log to its end.
        for _ in 0..<100 {
            if state.withLockedValue({ $0.connections.isEmpty }) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let rest = state.withLockedValue { Array($0.connections.values) }
        for connection in rest { try? await connection.close().get() }
    }
}

/// Control lines to a rank, written on its connection.
struct SocketRankControl: RankControl {
    let channel: any Channel

    func send(_ line: ControlLine) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: line.line)).get()
    }

    func post(_ line: ControlLine) {
        channel.writeAndFlush(ByteBuffer(string: line.line), promise: nil)
    }

    func disconnect() {
        channel.close(promise: nil)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
