import Atomics
import NIOCore
import NIOPosix
import RanktopProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client connection to a collector (viewer or control request): connect, send the first line,
/// read the one-line reply; what follows (a viewer's events) is read with `nextChunk()`.
final class CollectorConnection: Sendable {
    let address: Address
    private let reader: PullingReader
    private let channel: any Channel
    /// Bytes after the reply line that came in the same read.
    private let leftover: [UInt8]
    let reply: ConnectionReply

    private init(address: Address, reader: PullingReader, channel: any Channel, reply: ConnectionReply, leftover: [UInt8]) {
        self.address = address
        self.reader = reader
        self.channel = channel
        self.reply = reply
        self.leftover = leftover
    }

    /// Connects and sends `request`; throws with a message for the user when nothing listens,
    /// the collector refuses (a wrong token), or no reply comes within `timeout` seconds.
    static func open(_ address: Address, request: ConnectionRequest, timeout: Double) async throws -> CollectorConnection {
        let reader = PullingReader()
        let channel = try await connect(address, reader: reader)
        reader.attach(channel)
        do {
            try await channel.writeAndFlush(ByteBuffer(string: request.line)).get()
            let (line, leftover) = try await readLine(reader, address: address, timeout: timeout)
            guard let reply = ConnectionReply.parse(line) else {
                throw TransportError("\(address) answered with something that is not a ranktop collector's reply")
            }
            if reply.kind == "error" {
                let message = reply.error ?? "refused"
                if reply.code == "expired" {
                    throw TransportError("the collector at \(address): \(message)", timedOut: true)
                }
                if reply.code == "token" {
                    throw TransportError("the collector at \(address) refused the request: \(message) (give --token or set RANKTOP_TOKEN)")
                }
                throw TransportError("the collector at \(address) refused the request: \(message)")
            }
            return CollectorConnection(address: address, reader: reader, channel: channel, reply: reply, leftover: leftover)
        } catch {
            reader.close()
            throw error
        }
    }

    /// The stream after the reply, chunk by chunk; nil at its end.
    func chunks() -> @Sendable () async -> [UInt8]? {
        let first = NIOLockedBox(leftover.isEmpty ? nil : leftover)
        let reader = reader
        return {
            if let chunk = first.take() { return chunk }
            return await reader.next()
        }
    }

    func close() {
        reader.close()
    }

    private static func connect(_ address: Address, reader: PullingReader) async throws -> any Channel {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PullingReaderHandler(reader: reader))
                }
            }
        do {
            switch address {
            case let .unix(path):
                return try await bootstrap.connect(unixDomainSocketPath: path).get()
            case let .tcp(host, port):
                return try await bootstrap.connect(host: host, port: port).get()
            case .sharedMemory:
                throw TransportError("\(address): viewers and control requests reach a collector over unix: or tcp://, not shared memory")
            }
        } catch let error as TransportError {
            throw error
        } catch {
            throw TransportError("nothing listens at \(address) (\(describe(error)))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(first.error)
        }
        if error is ChannelError { return "connection failed" }
        return "\(error)"
    }

    private static func readLine(_ reader: PullingReader, address: Address, timeout: Double) async throws -> ([UInt8], [UInt8]) {
        let timedOut = ManagedAtomic(false)
        let timer = Task {
            try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
            timedOut.store(true, ordering: .relaxed)
            reader.close()
        }
        defer { timer.cancel() }
        var bytes: [UInt8] = []
        while true {
            guard let chunk = await reader.next() else {
                if timedOut.load(ordering: .relaxed) {
                    throw TransportError("no answer from the collector at \(address) within \(Int(timeout)) s", timedOut: true)
                }
                throw TransportError("the collector at \(address) closed the connection without answering")
            }
            bytes += chunk
            if let newline = bytes.firstIndex(of: 0x0A) {
                return (Array(bytes[..<newline]), Array(bytes[(newline + 1)...]))
            }
            if bytes.count > 65_536 { throw TransportError("\(address) is not a ranktop collector (no reply line)") }
        }
    }
}

/// A value taken once, across threads.
final class NIOLockedBox<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value?>
    init(_ value: Value?) { box = NIOLockedValueBox(value) }
    func take() -> Value? { box.withLockedValue { value in defer { value = nil }; return value } }
    func peek() -> Value? { box.withLockedValue { $0 } }
    func set(_ value: Value) { box.withLockedValue { $0 = value } }
}

import NIOConcurrencyHelpers
