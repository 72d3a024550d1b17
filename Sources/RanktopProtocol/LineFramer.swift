/// Splits a byte stream into JSON Lines, enforcing the protocol's 65,536-byte limit.
///
/// Complete lines inside a chunk are handed out in place, without copying; only a line that
/// straddles two chunks is buffered, and never more than the limit: an oversize line is skipped
/// whole and reading resumes after its newline. Used by the event log reader and the collector.
public struct LineFramer: Sendable {
    public enum Piece {
        /// A whole line, newline removed (and a trailing `\r`, for logs edited on Windows).
        case line(UnsafeBufferPointer<UInt8>)
        /// A line over the limit, skipped; `bytes` is its length without the newline.
        case oversize(bytes: Int)
    }

    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var discardingBytes: Int? = nil

    public init(maxLineBytes: Int = EventDecoder.maxLineBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Bytes held for a line not yet ended.
    public var bufferedBytes: Int { discardingBytes ?? pending.count }

    public mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ body: (Piece) throws -> Void) rethrows {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        let count = chunk.count
        while start < count {
            let newline = memchrIndex(base, from: start, count: count)
            guard let newline else {
                accumulate(UnsafeBufferPointer(start: base + start, count: count - start))
                return
            }
            let piece = UnsafeBufferPointer(start: base + start, count: newline - start)
            if let skipped = discardingBytes {
                discardingBytes = nil
                try body(.oversize(bytes: skipped + piece.count))
            } else if pending.isEmpty {
                if piece.count > maxLineBytes { try body(.oversize(bytes: piece.count)) } else { try body(.line(trimCR(piece))) }
            } else if pending.count + piece.count > maxLineBytes {
                let total = pending.count + piece.count
                pending.removeAll(keepingCapacity: true)
                try body(.oversize(bytes: total))
            } else {
                pending.append(contentsOf: piece)
                try pending.withUnsafeBufferPointer { try body(.line(trimCR($0))) }
                pending.removeAll(keepingCapacity: true)
            }
            start = newline + 1
        }
    }

    /// At the end of the stream: the bytes of a last line that never got its newline (a writer
    /// that died mid-line), or nil when the stream ended cleanly.
    public mutating func finish() -> Int? {
        defer {
            pending.removeAll()
            discardingBytes = nil
        }
        if let skipped = discardingBytes { return skipped }
        return pending.isEmpty ? nil : pending.count
    }

    private mutating func accumulate(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let skipped = discardingBytes {
            discardingBytes = skipped + bytes.count
        } else if pending.count + bytes.count > maxLineBytes {
            discardingBytes = pending.count + bytes.count
            pending.removeAll(keepingCapacity: false)
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private func trimCR(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if let last = line.last, last == 0x0D { return UnsafeBufferPointer(rebasing: line.dropLast()) }
        return line
    }

    @inline(__always)
    private func memchrIndex(_ base: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int? {
        guard let found = memchr(base + start, 0x0A, count - start) else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
