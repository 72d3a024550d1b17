import Testing
@testable import RanktopEmitter
import RanktopProtocol

/// The shared-memory emitter's stack encoder writes exactly what `EventEncoder` writes (less the
/// newline), for every kind it handles, and declines the rest.
@Suite struct ShmRecordEncoderTests {
    static let timestamps: [Double] = [1_764_374_400, 1_764_374_400.5, 1_764_374_400.000001, 1_796_134_296.012746, 1_796_134_296.01275, 0.25, 12.000009]

    static let bodies: [EventBody] = [
        .progress(Progress(step: 0)),
        .progress(Progress(step: 41, total: 1000, epoch: 0.5, metrics: [Metric("loss", 2.31), Metric("lr", 3e-4), Metric("tokens", 4096)])),
        .progress(Progress(step: 7, metrics: [Metric("nan", .nan), Metric("up", .infinity), Metric("down", -.infinity), Metric("neg", -1.5e-12)])),
        .barrierEnter(BarrierEnter(n: 3, name: "save \"ckpt\"\n", site: "train.py:88", phase: "load")),
        .barrierEnter(BarrierEnter(n: 0)),
        .barrierExit(n: 12),
        .triggerCheck(n: 9, fired: true),
        .triggerCheck(n: 10, fired: false),
        .collectiveEnter(CollectiveEnter(group: "pg-3", n: 812, op: "all_reduce", size: 2, members: [1, 2], bytes: 4096, dtype: "float32", site: "train.py:88", label: "ddp.gradients", isAsync: true)),
        .collectiveEnter(CollectiveEnter(group: "world", n: 0, op: "barrier")),
        .collectiveExit(CollectiveExit(group: "world", n: 0, op: "barrier")),
        .collectiveExit(CollectiveExit(group: "p2p:0>1", n: 5)),
    ]

    static func stackEncoded(_ event: Event) -> [UInt8]? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { scratch in
            var encoder = ShmRecordEncoder(scratch)
            return ShmRecordEncoder.encode(event, into: &encoder) ? Array(encoder.bytes) : nil
        }
    }

    @Test func everyHandledKindIsByteForByteTheSocketLine() {
        for ts in Self.timestamps {
            for (i, body) in Self.bodies.enumerated() {
                let event = Event(rank: i % 5, ts: ts, seq: 1000 + i, body)
                var line: [UInt8] = []
                EventEncoder.encode(event, into: &line)
                line.removeLast()
                let ours = Self.stackEncoded(event)
                #expect(ours == line, "\(String(decoding: ours ?? [], as: UTF8.self)) vs \(String(decoding: line, as: UTF8.self))")
            }
        }
    }

    /// The emitter hands the clock's whole microseconds along with `ts = micros / 1e6`: the
    /// record is the line `EventEncoder` writes for that `ts`.
    @Test func aTimestampGivenInMicrosecondsIsTheSameText() {
        let micros = [0, 999_999, 1_000_000, 1_764_374_400_000_000, 1_764_374_400_500_000, 1_764_374_400_000_001, 1_796_134_296_012_746, 1_796_134_296_012_750, 12_000_009, 4_102_444_799_999_999]
        for value in micros {
            let event = Event(rank: 3, ts: Double(value) / 1e6, seq: 7, .barrierExit(n: 12))
            var line: [UInt8] = []
            EventEncoder.encode(event, into: &line)
            line.removeLast()
            let ours = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { scratch in
                var encoder = ShmRecordEncoder(scratch)
                return ShmRecordEncoder.encode(event, micros: value, into: &encoder) ? Array(encoder.bytes) : nil
            }
            #expect(ours == line, "\(value): \(String(decoding: ours ?? [], as: UTF8.self)) vs \(String(decoding: line, as: UTF8.self))")
        }
    }

    @Test func integersOfEveryWidthAreTheSameText() {
        var values: [UInt] = [0, UInt.max]
        var power: UInt = 1
        for _ in 0..<20 {
            values += [power - 1, power, power + 1]
            let (next, overflow) = power.multipliedReportingOverflow(by: 10)
            if overflow { break }
            power = next
        }
        for value in values {
            #expect(ShmRecordEncoder.digitCount(value) == String(value).count, "\(value)")
            // Every width of integer, as `n` and as `seq`, is the general encoder's text.
            let n = Int(truncatingIfNeeded: value)
            for event in [Event(rank: 0, ts: 1_764_374_400.5, seq: 1, .barrierExit(n: n)), Event(rank: 1, ts: 1_764_374_400.5, seq: max(n, 0), .barrierExit(n: 0))] {
                var line: [UInt8] = []
                EventEncoder.encode(event, into: &line)
                line.removeLast()
                #expect(Self.stackEncoded(event) == line, "\(n)")
            }
        }
    }

    @Test func rareKindsAndOversizeRecordsGoToTheGeneralEncoder() {
        #expect(Self.stackEncoded(Event(rank: 0, ts: 1, seq: 0, .log(level: .info, msg: "x"))) == nil)
        #expect(Self.stackEncoded(Event(rank: 0, ts: 1, seq: 0, .hello(Hello(run: "r", world: 1, localRank: 0, localWorld: 1, node: "n", pid: 1, runtime: "t")))) == nil)
        let long = String(repeating: "x", count: 2000)
        #expect(Self.stackEncoded(Event(rank: 0, ts: 1, seq: 0, .barrierEnter(BarrierEnter(n: 0, name: long)))) == nil)
    }
}
