import RanktopModel
import RanktopReport
import RanktopProtocol

/// libFuzzer entry point: the input is a byte stream as a collector or the log reader sees it.
/// Every line goes through the decoder; whatever decodes goes through the reducer; then the
/// report is built from the model. None of it may crash, hang or trap, whatever the bytes.
///
/// Inputs are also re-framed at an arbitrary split, so that lines straddling read chunks are
/// exercised too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecodeReduce(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var stream = EventStreamDecoder()
    var model = RunModel(limits: .live)
    let split = size == 0 ? 0 : Int(bytes[0]) % (size + 1)
    stream.feed(UnsafeBufferPointer(rebasing: bytes[0..<split])) { model.apply($0) }
    stream.feed(UnsafeBufferPointer(rebasing: bytes[split...])) { model.apply($0) }
    stream.finish()
    let report = RunReport(model: model, read: stream.summary)
    _ = report.text
    _ = report.json.serialized
    // Encoding what was decoded must decode to the same event.
    var decoder = EventDecoder()
    for event in model.recentEvents {
        let line = EventEncoder.line(event)
        if case let .success(again) = decoder.decode(String(line.dropLast())), again.kind != event.kind {
            fatalError("re-encoded \(event.kind) decoded as \(again.kind)")
        }
    }
    return 0
}
