import Foundation
import Testing
@testable import RanktopProtocol

/// A directory in /dev/shm per test, removed at the end.
final class ShmScratch {
    let directory: String

    init() throws {
        directory = "/dev/shm/rtt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func segment(_ name: String = "t", ranks: Int = 4, slots: Int = 1024) throws -> ShmSegment {
        try ShmSegment.openOrCreate(name: name, rankCapacity: ranks, ringSlots: slots, directory: directory)
    }
}

@Suite struct SharedMemoryTests {
    static func line(_ event: Event) -> [UInt8] {
        var out: [UInt8] = []
        EventEncoder.encode(event, into: &out)
        out.removeLast()
        return out
    }

    static func progress(_ seq: Int, metricsBytes: Int = 0) -> [UInt8] {
        let metrics = metricsBytes > 0 ? [Metric(String(repeating: "m", count: metricsBytes), 1.5)] : []
        return line(Event(rank: 1, ts: 1000 + Double(seq), seq: seq, .progress(Progress(step: seq, total: 10_000, metrics: metrics))))
    }

    static func drainAll(_ reader: inout ShmAreaReader) -> [[UInt8]] {
        var records: [[UInt8]] = []
        while reader.drain({ records.append(Array($0)) }) > 0 {}
        return records
    }

    @Test func theFileIsPrivateAndItsHeaderFollowsTheLayout() throws {
        let scratch = try ShmScratch()
        let segment = try scratch.segment("hdr", ranks: 3, slots: 1500)
        var info = stat()
        #expect(stat(segment.path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(segment.ringSlots == 2048)  // rounded up to a power of two
        #expect(segment.rankCapacity == 3)
        #expect(segment.size == ShmLayout.fileSize(rankCapacity: 3, ringSlots: 2048))
        #expect(Array(UnsafeRawBufferPointer(start: segment.base, count: 8)) == ShmLayout.magic)
        #expect(segment.base.load(fromByteOffset: 8, as: UInt32.self) == 1)
        #expect(segment.base.load(fromByteOffset: 32, as: UInt64.self) == 4096 + 64 * 512)
        let again = try ShmSegment.open(name: "hdr", directory: scratch.directory)
        #expect(again.ringSlots == 2048)
        #expect(ShmSegment.names(directory: scratch.directory) == ["hdr"])
    }

    @Test func namesAreCheckedAndAutoNamesAreSafe() {
        #expect(ShmSegment.problem(withName: "run-42.a_b") == nil)
        #expect(ShmSegment.problem(withName: "") != nil)
        #expect(ShmSegment.problem(withName: "../etc") != nil)
        #expect(ShmSegment.problem(withName: String(repeating: "a", count: 101)) != nil)
        #expect(ShmSegment.autoName(run: "job 7/run:3") == "job_7_run_3")
        #expect(ShmSegment.problem(withName: ShmSegment.autoName(run: "..")) == nil)
    }

    @Test func aSegmentThatIsNotOneIsRefusedWithAReason() throws {
        let scratch = try ShmScratch()
        let path = scratch.directory + "/ranktop-junk"
        try Data(repeating: 7, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect(throws: ShmSegment.Failure.self) { try ShmSegment.open(name: "junk", directory: scratch.directory) }
        #expect(throws: ShmSegment.Failure.self) { try ShmSegment.open(name: "absent", directory: scratch.directory) }
    }

    @Test func recordsReadBackExactlyIncludingOnesThatSpanSlots() throws {
        let scratch = try ShmScratch()
        let area = try scratch.segment().area(1)
        area.claim(pid: Int(getpid()), rank: 1)
        let written = [Self.progress(0), Self.progress(1, metricsBytes: 600), Self.progress(2, metricsBytes: 3000), Self.progress(3)]
        for record in written { #expect(record.withUnsafeBytes { area.write(record: $0) }) }
        let slots = written.map { ($0.count + ShmLayout.slotPayloadBytes - 1) / ShmLayout.slotPayloadBytes }
        #expect(slots[1] == 3)
        #expect(area.head == UInt64(slots.reduce(0, +)))
        var reader = ShmAreaReader(area: area)
        #expect(Self.drainAll(&reader) == written)
        #expect(reader.ring.skippedSlots == 0)
        for record in written {
            var decoder = EventDecoder()
            let kind = record.withUnsafeBufferPointer { bytes -> EventKind? in
                if case let .success(event) = decoder.decode(bytes) { return event.kind }
                return nil
            }
            #expect(kind == .progress)
        }
    }

    @Test func aFullRingKeepsTheNewestRecordsAndTheRestShowAsASeqGap() throws {
        let scratch = try ShmScratch()
        let area = try scratch.segment().area(0)
        area.claim(pid: Int(getpid()), rank: 1)
        for seq in 0..<5000 { _ = Self.progress(seq).withUnsafeBytes { area.write(record: $0) } }
        var reader = ShmAreaReader(area: area)
        let records = Self.drainAll(&reader)
        let seqs = records.compactMap { ShmRecordSeq.seq(in: $0) }
        #expect(seqs == Array((5000 - 1024)..<5000))
    }

    @Test func aLateReaderLearnsTheHelloAndStateTheRingNoLongerHolds() throws {
        let scratch = try ShmScratch()
        let area = try scratch.segment().area(2)
        area.claim(pid: Int(getpid()), rank: 2)
        let hello = Self.line(Event(rank: 2, ts: 1, seq: 0, .hello(Hello(run: "r", world: 4, localRank: 2, localWorld: 4, node: "n", pid: 9, runtime: "t"))))
        let phase = Self.line(Event(rank: 2, ts: 2, seq: 1, .phaseEnter(PhaseEnter(name: "load", mode: .mainFirst, main: false))))
        let barrier = Self.line(Event(rank: 2, ts: 3, seq: 2, .barrierEnter(BarrierEnter(n: 0))))
        for (record, state) in [(hello, ShmLayout.StateRecord.hello), (phase, .phase), (barrier, .barrier)] {
            _ = record.withUnsafeBytes { area.write(record: $0) }
            record.withUnsafeBytes { area.setState(state, to: $0) }
        }
        // Then enough to wrap the ring: the barrier is still open, the hello long gone.
        for seq in 3..<3000 {
            _ = Self.line(Event(rank: 2, ts: 4, seq: seq, .log(level: .info, msg: "x"))).withUnsafeBytes { area.write(record: $0) }
        }
        var reader = ShmAreaReader(area: area)
        let records = Self.drainAll(&reader)
        #expect(Array(records.prefix(3)) == [hello, phase, barrier])
        #expect(ShmRecordSeq.seq(in: records[3]) == 3000 - 1024)
        #expect(records.count == 3 + 1024)
        // An emptied record is not replayed.
        area.clearState(.barrier)
        #expect(area.state(.barrier) == nil)
        #expect(area.state(.hello) == hello)
    }

    @Test func aReaderRacingAWriterAtFullSpeedNeverYieldsATornRecord() async throws {
        let scratch = try ShmScratch()
        let segment = try scratch.segment(slots: 1024)
        let area = segment.area(0)
        area.claim(pid: Int(getpid()), rank: 0)
        let total = 50_000
        let finished = Flag()
        Thread {
            for seq in 0..<total {
                // Sizes from one slot to four, so records straddle slots as the ring laps.
                let record = SharedMemoryTests.progress(seq, metricsBytes: (seq % 4) * 230)
                _ = record.withUnsafeBytes { area.write(record: $0) }
            }
            finished.set()
        }.start()
        var reader = ShmAreaReader(area: area)
        var decoder = EventDecoder()
        var last = -1
        var good = 0
        var bad = 0
        func check(_ record: UnsafeRawBufferPointer) {
            let event = record.withMemoryRebound(to: UInt8.self) { bytes -> Event? in
                if case let .success(event) = decoder.decode(bytes) { return event }
                return nil
            }
            guard let event, let seq = event.seq, case let .progress(progress) = event.body, progress.step == seq, seq > last else {
                bad += 1
                return
            }
            last = seq
            good += 1
        }
        while !finished.isSet { reader.drain(check) }
        reader.drain(check)
        #expect(bad == 0)
        #expect(good > 1000)
        #expect(last == total - 1)
    }

    @Test func controlLinesReachTheirRankOnly() throws {
        let scratch = try ShmScratch()
        let control = try scratch.segment().control
        #expect(control.post(ControlLine.inject(id: "inj-1", reason: "stop").line, target: -1))
        #expect(control.post(ControlLine.stackRequest(id: "s-1").line, target: 2))
        #expect(control.count == 2)
        guard case let .entry(first) = control.read(0), case let .entry(second) = control.read(1) else {
            Issue.record("both entries should be complete")
            return
        }
        #expect(first.target == -1)
        #expect(ControlLine.parse(first.line) == .inject(id: "inj-1", reason: "stop"))
        #expect(second.target == 2)
        #expect(control.read(2) == .pending)
        #expect(!control.post(String(repeating: "x", count: 600), target: 0))
    }

    @Test func aDeadProcessesAreaIsTakenOverWithItsHeadKept() throws {
        let scratch = try ShmScratch()
        let segment = try scratch.segment()
        let area = segment.area(1)
        // A pid that cannot be alive: far beyond pid_max.
        area.claim(pid: 4_000_000, rank: 5)
        _ = Self.progress(0).withUnsafeBytes { area.write(record: $0) }
        let generation = area.generation
        let chosen = ShmRankArea.choose(in: segment, rank: 5, localRank: 0)
        #expect(chosen?.index == 1)
        chosen?.claim(pid: Int(getpid()), rank: 5)
        #expect(area.generation == generation + 1)
        #expect(area.head == 1)
        #expect(area.state(.progress) == nil)
        // A live holder keeps its area: the next rank gets another one.
        #expect(ShmRankArea.choose(in: segment, rank: 6, localRank: 1)?.index == 0)
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
