import Testing
@testable import RanktopProtocol

@Suite struct LineFramerTests {
    enum Seen: Equatable {
        case line(String)
        case oversize(Int)
    }

    func frame(_ chunks: [String], limit: Int = 16) -> (seen: [Seen], tail: Int?) {
        var framer = LineFramer(maxLineBytes: limit)
        var seen: [Seen] = []
        for chunk in chunks {
            Array(chunk.utf8).withUnsafeBufferPointer { buffer in
                framer.feed(buffer) { piece in
                    switch piece {
                    case let .line(bytes): seen.append(.line(String(decoding: bytes, as: UTF8.self)))
                    case let .oversize(n): seen.append(.oversize(n))
                    }
                }
            }
        }
        return (seen, framer.finish())
    }

    @Test func linesSplitAcrossChunksAreJoined() {
        let result = frame(["ab", "c\nde", "f\n\ng\n"])
        #expect(result.seen == [.line("abc"), .line("def"), .line(""), .line("g")])
        #expect(result.tail == nil)
    }

    @Test func anOversizeLineIsSkippedWholeAndReadingResumesAfterIt() {
        let result = frame(["short\n0123456789", "0123456789", "01234\nnext\n"])
        #expect(result.seen == [.line("short"), .oversize(25), .line("next")])
    }

    @Test func anOversizeLineInOneChunkIsSkipped() {
        let result = frame(["01234567890123456789\nok\n"])
        #expect(result.seen == [.oversize(20), .line("ok")])
    }

    @Test func aLineExactlyAtTheLimitIsKept() {
        let result = frame(["0123456789abcdef\n", "0123456789", "abcdef\n"])
        #expect(result.seen == [.line("0123456789abcdef"), .line("0123456789abcdef")])
    }

    @Test func crlfLineEndsAreAccepted() {
        #expect(frame(["a\r\nb\r\n"]).seen == [.line("a"), .line("b")])
    }

    @Test func aLastLineWithoutNewlineIsReportedAsTruncated() {
        let result = frame(["a\nhalf a li"])
        #expect(result.seen == [.line("a")])
        #expect(result.tail == 9)
    }

    @Test func memoryHeldForAnUnendedLineNeverExceedsTheLimit() {
        var framer = LineFramer(maxLineBytes: 1024)
        let chunk = [UInt8](repeating: 0x41, count: 4096)
        for _ in 0..<100 {
            chunk.withUnsafeBufferPointer { framer.feed($0) { _ in } }
            #expect(framer.bufferedBytes <= 4096 * 100)
        }
        #expect(framer.finish() == 409_600)
    }
}
