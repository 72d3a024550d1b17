/// The fuzz input read as what happens on the collector's connections, one step per line:
///
/// - `N...` (N a digit 0-7): one read of `...` and a newline on connection N;
/// - `|pN...`: one read of `...` without a newline, so the line continues in a later read;
/// - `|oNcount`: the framer skipped an oversize line of `count` bytes on connection N;
/// - `|eN`: the peer closed connection N; `|xN`: the collector closed it (no reason);
/// - anything else: one read of the whole line and a newline on the connection used last.
///
/// A connection that was closed reconnects (a new stream) on its next read. Plain event logs
/// are valid scripts too (everything on connection 0), so the decoder's corpus seeds this one.
struct IngestScript {
    enum Step {
        case read(connection: Int, bytes: ArraySlice<UInt8>)
        case oversize(connection: Int, bytes: Int)
        case peerClosed(connection: Int)
        case collectorClosed(connection: Int)
    }

    static let connections = 8

    private(set) var steps: [Step] = []

    init(_ input: UnsafeBufferPointer<UInt8>) {
        var current = 0
        for line in input.split(separator: 0x0A, omittingEmptySubsequences: false) {
            let bytes = ArraySlice(line)
            if let first = bytes.first, let connection = IngestScript.connection(first) {
                current = connection
                steps.append(.read(connection: connection, bytes: bytes.dropFirst() + [0x0A]))
            } else if bytes.first == UInt8(ascii: "|"), bytes.count >= 3,
                      let connection = IngestScript.connection(bytes[bytes.startIndex + 2]) {
                let rest = bytes.dropFirst(3)
                switch bytes[bytes.startIndex + 1] {
                case UInt8(ascii: "p"): steps.append(.read(connection: connection, bytes: rest))
                case UInt8(ascii: "o"): steps.append(.oversize(connection: connection, bytes: IngestScript.count(rest)))
                case UInt8(ascii: "e"): steps.append(.peerClosed(connection: connection))
                case UInt8(ascii: "x"): steps.append(.collectorClosed(connection: connection))
                default: steps.append(.read(connection: current, bytes: bytes + [0x0A]))
                }
            } else {
                steps.append(.read(connection: current, bytes: bytes + [0x0A]))
            }
        }
    }

    private static func connection(_ byte: UInt8) -> Int? {
        let digit = Int(byte) - Int(UInt8(ascii: "0"))
        return (0..<connections).contains(digit) ? digit : nil
    }

    /// At most 18 digits, so that the count cannot overflow.
    private static func count(_ digits: ArraySlice<UInt8>) -> Int {
        var value = 0
        for byte in digits.prefix(18) {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { break }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
