import NIOCore
import NIOHTTP1
import NIOPosix

/// `--metrics HOST:PORT`: a plain HTTP endpoint that Prometheus scrapes, `GET /metrics` in the
/// text exposition format. Read-only: what it shows is what `ranktop report` would say of the
/// run, with no token (bind it to 127.0.0.1, the default host, unless the network is trusted).
final class MetricsServer: Sendable {
    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    static func start(host: String, port: Int, metrics: RunMetrics) async throws -> MetricsServer {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(metrics: metrics))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return MetricsServer(channel: channel)
    }

    /// The port it listens on (resolved when 0 was asked).
    var port: Int? { channel.localAddress?.port }

    func stop() async {
        try? await channel.close()
    }
}

/// One scrape: `/metrics` (or `/`) answers the registry's text, anything else 404.
private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: RunMetrics
    private var uri: String?

    init(metrics: RunMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(head):
            uri = head.method == .GET ? head.uri : nil
        case .body:
            break
        case .end:
            let path = uri.map { String($0.prefix { $0 != "?" }) }
            let found = path == "/metrics" || path == "/"
            let body = found ? metrics.text() : Array("not found: ranktop serves /metrics\n".utf8)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(body.count)")
            headers.add(name: "Connection", value: "close")
            let head = HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            uri = nil
        }
    }
}
