import DequeModule
import NIOConcurrencyHelpers
import NIOCore

/// Reads a client connection only as fast as its consumer asks: the channel runs with autoRead
/// off and one `read()` is issued per empty `next()`, so a viewer that is busy stops the socket
/// (TCP flow control reaches the collector, which then only falls behind in its file).
final class PullingReader: Sendable {
    private struct State {
        var chunks: Deque<[UInt8]> = []
        var finished = false
        var waiter: CheckedContinuation<[UInt8]?, Never>?
    }

    private let state = NIOLockedValueBox(State())
    private let channel: NIOLockedValueBox<(any Channel)?> = NIOLockedValueBox(nil)

    func attach(_ channel: any Channel) {
        self.channel.withLockedValue { $0 = channel }
    }

    /// The next bytes received, or nil once the connection closed and everything was read.
    func next() async -> [UInt8]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[UInt8]?, Never>) in
                let ready: [UInt8]?? = state.withLockedValue { state in
                    if let chunk = state.chunks.popFirst() { return .some(chunk) }
                    if state.finished { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let ready {
                    continuation.resume(returning: ready)
                } else {
                    channel.withLockedValue { $0 }?.read()
                }
            }
        } onCancel: {
            close()
        }
    }

    /// Closes the connection; a pending `next()` returns nil.
    func close() {
        channel.withLockedValue { $0 }?.close(promise: nil)
        received(nil)
    }

    /// From the channel's handler: a chunk, or nil at the end.
    fileprivate func received(_ chunk: [UInt8]?) {
        let waiter: CheckedContinuation<[UInt8]?, Never>? = state.withLockedValue { state in
            if let chunk {
                if let waiter = state.waiter {
                    state.waiter = nil
                    return waiter
                }
                state.chunks.append(chunk)
                return nil
            }
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: chunk)
    }
}

/// The pipeline end of a `PullingReader`.
final class PullingReaderHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let reader: PullingReader

    init(reader: PullingReader) {
        self.reader = reader
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        reader.received(Array(buffer.readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        reader.received(nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
