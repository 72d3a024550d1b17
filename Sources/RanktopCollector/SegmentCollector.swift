#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RanktopProtocol

/// A collector of this process over one shared-memory segment, for the commands that read a
/// segment with no collector of the run's own (`attach`, `report`, `replay`, `stack`,
/// `trigger`, `ls` on `shm://NAME`): the segment's ranks go through the same transport, log and
/// model as a launcher's, and a private Unix socket lets the usual viewer and control clients
/// talk to it. Its log and socket are temporary.
public struct SegmentCollector: Sendable {
    public let collector: Collector
    /// The private socket (nil with `drainOnce`: nothing stays running to talk to).
    public let viewerAddress: Address?
    public let logPath: String

    /// - Parameter drainOnce: read what the segment holds now and stop (a flight recorder's
    ///   post-mortem); otherwise follow it live.
    public static func open(name: String, drainOnce: Bool, keepsLiveModel: Bool = false) async throws -> SegmentCollector {
        if let problem = ShmSegment.problem(withName: name) { throw TransportError("shm://\(name): \(problem)") }
        guard access(ShmSegment.path(name: name), F_OK) == 0 else {
            throw TransportError("no shared-memory segment \(ShmSegment.path(name: name)) (`ranktop ls` lists this host's)")
        }
        let directory = UnixSocketPath.defaultDirectory()
        try UnixSocketPath.preparePrivateDirectory(directory)
        let stem = "\(directory)/shm-\(name.prefix(40))-\(getpid())-\(Collector.randomHex(6))"
        let socket: Address? = drainOnce ? nil : .unix(path: stem + ".sock")
        var configuration = CollectorConfiguration(
            listen: [.sharedMemory(name: name)] + (socket.map { [$0] } ?? []), logPath: stem + ".jsonl", runID: name,
            silenceTimeout: 3600, keepsLiveModel: keepsLiveModel
        )
        configuration.sharedMemory.drainOnce = drainOnce
        let collector = try Collector(configuration: configuration)
        do {
            try await collector.start()
        } catch {
            await collector.stop()
            _ = unlink(stem + ".jsonl")
            throw error
        }
        return SegmentCollector(collector: collector, viewerAddress: socket, logPath: stem + ".jsonl")
    }

    /// Stops the collector and removes its log and socket.
    public func close() async {
        await collector.stop()
        _ = unlink(logPath)
        if case let .unix(path)? = viewerAddress { _ = unlink(path) }
    }
}
