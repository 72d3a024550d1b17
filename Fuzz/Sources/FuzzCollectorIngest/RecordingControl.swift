import RanktopProtocol
import RanktopCollector
import Synchronization

/// The collector's way back to a rank, without a socket: remembers what it was handed.
final class RecordingControl: RankControl {
    /// Kept per connection; enough to check what the collector sends, bounded whatever it sends.
    static let maxRecorded = 32

    private struct Record {
        var lines: [ControlLine] = []
        var disconnectRequested = false
    }

    private let record = Mutex(Record())

    func send(_ line: ControlLine) async throws {
        record.withLock { record in
            if record.lines.count < RecordingControl.maxRecorded { record.lines.append(line) }
        }
    }

    func disconnect() {
        record.withLock { $0.disconnectRequested = true }
    }

    /// Whether the collector asked to drop this connection since the last call.
    func takeDisconnectRequest() -> Bool {
        record.withLock { record in
            defer { record.disconnectRequested = false }
            return record.disconnectRequested
        }
    }

    var lines: [ControlLine] { record.withLock { $0.lines } }
}
