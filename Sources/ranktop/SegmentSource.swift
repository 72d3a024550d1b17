import RanktopProtocol
import RanktopCollector

/// `shm://NAME` where a command takes a log or a collector: the segment is read by a collector
/// of this process (`SegmentCollector`), so there is nothing to have started beforehand.
enum SegmentSource {
    /// The segment a command-line argument names, or nil when it is not `shm://`.
    static func name(_ text: String) throws -> String? {
        guard text.hasPrefix("shm://") else { return nil }
        guard case let .sharedMemory(name) = try RunLocations.address(text) else { return nil }
        if let problem = ShmSegment.problem(withName: name) { throw CLIFailure.usage("\(text): \(problem)") }
        return name
    }

    /// Runs `body` with a log of everything the segment holds now (ranks whose process is gone
    /// without `bye` written `lost`), removed afterwards.
    static func withDrainedLog<T>(_ name: String, _ body: (String) async throws -> T) async throws -> T {
        let segment = try await open(name, drainOnce: true)
        do {
            let result = try await body(segment.logPath)
            await segment.close()
            return result
        } catch {
            await segment.close()
            throw error
        }
    }

    /// Runs `body` with the address of a collector following the segment live (its private
    /// socket), closed afterwards.
    static func withLiveCollector<T>(_ name: String, _ body: (Address, String) async throws -> T) async throws -> T {
        let segment = try await open(name, drainOnce: false)
        do {
            let result = try await body(segment.viewerAddress!, segment.logPath)
            await segment.close()
            return result
        } catch {
            await segment.close()
            throw error
        }
    }

    private static func open(_ name: String, drainOnce: Bool) async throws -> SegmentCollector {
        do {
            return try await SegmentCollector.open(name: name, drainOnce: drainOnce)
        } catch let error as TransportError {
            throw CLIFailure(message: error.description)
        }
    }
}
