import Testing
@testable import RanktopProtocol

@Suite struct EventCodecTests {
    static let everyKind: [Event] = [
        Event(rank: 3, ts: 1_764_374_400.000001, seq: 0, .hello(Hello(
            run: "r42", world: 8, localRank: 3, localWorld: 8, node: "gpu-1", pid: 4242,
            runtime: "accelerate/1.15.0 torch/2.15.0", timeout: 600, restart: 1, caps: ["inject", "stack"], token: "s3cret"
        ))),
        Event(rank: 3, ts: 1_764_374_440.0, seq: 5, .progress(Progress(step: 1, total: 1000, epoch: 0.5, metrics: [Metric("loss", 2.31), Metric("lr", 0.0003)]))),
        Event(rank: 3, ts: 1_764_374_400.5, seq: 2, .barrierEnter(BarrierEnter(n: 0, name: "save", site: "train.py:41", phase: "load_dataset"))),
        Event(rank: 3, ts: 1_764_374_431.2, seq: 3, .barrierExit(n: 0)),
        Event(rank: 3, ts: 1_764_374_400.5, seq: 1, .phaseEnter(PhaseEnter(name: "load_dataset", mode: .mainFirst, main: false))),
        Event(rank: 3, ts: 1_764_374_433.9, seq: 4, .phaseExit(name: "load_dataset")),
        Event(rank: 1, ts: 1.25, seq: 9, .triggerSet(TriggerSet(source: .manual, reason: "stop \"now\"\n", id: "inj-1"))),
        Event(rank: 1, ts: 2, seq: 10, .triggerCheck(n: 7, fired: true)),
        Event(rank: 1, ts: 3, seq: 11, .log(level: .warning, msg: "naïve ✓ \u{1}")),
        Event(rank: 1, ts: 4, seq: 12, .heartbeat),
        Event(rank: 1, ts: 5, seq: 13, .stack(id: "s1", frames: ["train.py:10 main", "train.py:88 save"])),
        Event(rank: 1, ts: 6, seq: 14, .bye(code: 1, error: "RuntimeError: boom")),
        Event(rank: 1, ts: 7, .lost(reason: "connection closed")),
        Event(rank: 1, ts: 8, .dropped(count: 12)),
        Event(rank: -1, ts: 9, .inject(Injection(id: "inj-1", reason: "diverging", by: "alice@login-1"))),
        Event(rank: 2, ts: 10, seq: 15, .collectiveEnter(CollectiveEnter(
            group: "pg-3", n: 812, op: "all_reduce", size: 2, members: [1, 2], bytes: 4096, dtype: "float32",
            site: "train.py:88", label: "ddp.gradients", isAsync: true))),
        Event(rank: 2, ts: 11, seq: 16, .collectiveEnter(CollectiveEnter(group: "world", n: 0, op: "barrier"))),
        Event(rank: 2, ts: 12, seq: 17, .collectiveExit(CollectiveExit(group: "pg-3", n: 812, op: "all_reduce"))),
        Event(rank: 2, ts: 13, seq: 18, .collectiveExit(CollectiveExit(group: "world", n: 0))),
    ]

    @Test func everyKindSurvivesEncodeThenDecode() {
        for event in Self.everyKind {
            var decoder = EventDecoder()
            let line = EventEncoder.line(event)
            #expect(line.hasSuffix("\n"))
            #expect(!line.dropLast().contains("\n"), "one event, one line")
            #expect(decoder.decode(String(line.dropLast())) == .success(event), "\(line)")
        }
    }

    @Test func theProtocolExampleDecodes() {
        let lines = [
            #"{"kind":"hello","rank":3,"ts":1764374400.000001,"seq":0,"v":1,"run":"r42","world":8,"local_rank":3,"local_world":8,"node":"gpu-1","pid":4242,"runtime":"accelerate/1.15.0 torch/2.15.0","timeout":600}"#,
            #"{"kind":"phase.enter","rank":3,"ts":1764374400.5,"seq":1,"name":"load_dataset","mode":"main_first","main":false}"#,
            #"{"kind":"barrier.enter","rank":3,"ts":1764374400.5,"seq":2,"n":0,"phase":"load_dataset","site":"train.py:41"}"#,
            #"{"kind":"barrier.exit","rank":3,"ts":1764374431.2,"seq":3,"n":0}"#,
            #"{"kind":"phase.exit","rank":3,"ts":1764374433.9,"seq":4,"name":"load_dataset"}"#,
            #"{"kind":"progress","rank":3,"ts":1764374440.0,"seq":5,"step":1,"total":1000,"metrics":{"loss":2.31}}"#,
            #"{"kind":"trigger.check","rank":3,"ts":1764374440.1,"seq":6,"n":0,"fired":false}"#,
        ]
        var decoder = EventDecoder()
        let events = lines.compactMap { try? decoder.decode($0).get() }
        #expect(events.count == lines.count)
        #expect(events.first?.ts == 1_764_374_400.000001)
        #expect(decoder.world == 8)
        if case let .progress(p) = events.last?.body { Issue.record("last is the check, got progress \(p)") }
        if case let .progress(p)? = events.dropLast().last?.body {
            #expect(p.metrics == [Metric("loss", 2.31)])
        } else {
            Issue.record("expected progress")
        }
    }

    @Test func timestampsKeepMicrosecondsExactly() {
        var decoder = EventDecoder()
        for text in ["1764374400.000001", "1764374400.999999", "0.5", "1e9", "1764374400", "9999999999.25"] {
            let event = try? decoder.decode(#"{"kind":"heartbeat","rank":0,"ts":\#(text)}"#).get()
            #expect(event?.ts == Double(text), "\(text)")
        }
    }

    @Test func unknownFieldsAreIgnoredAndKeyOrderDoesNotMatter() {
        var decoder = EventDecoder()
        let event = try? decoder.decode(#"{ "future": {"x": [1, {"y": null}]}, "n" : 4, "ts": 1, "rank": 0, "kind": "barrier.exit", "extra": "\u00e9" }"#).get()
        #expect(event == Event(rank: 0, ts: 1, .barrierExit(n: 4)))
    }

    @Test func escapesAndSurrogatePairsDecode() {
        var decoder = EventDecoder()
        let event = try? decoder.decode(#"{"kind":"log","rank":0,"ts":1,"level":"info","msg":"a\"b\\c\/d\n\u00e9\ud83d\ude00"}"#).get()
        #expect(event?.body == .log(level: .info, msg: "a\"b\\c/d\né😀"))
    }

    @Test func pythonsNaNAndInfinityAreAcceptedInMetrics() {
        var decoder = EventDecoder()
        let event = try? decoder.decode(#"{"kind":"progress","rank":0,"ts":1,"step":3,"metrics":{"loss":NaN,"grad":Infinity,"x":-Infinity}}"#).get()
        guard case let .progress(p)? = event?.body else {
            Issue.record("expected progress")
            return
        }
        #expect(p.metrics[0].value.isNaN)
        #expect(p.metrics[1].value == .infinity)
        #expect(p.metrics[2].value == -.infinity)
    }

    @Test(arguments: [
        (#"{"kind":"progress","rank":0,"ts":1}"#, "missing field 'step'"),
        (#"{"kind":"progress","rank":"0","ts":1,"step":1}"#, "field 'rank': expected integer, got string"),
        (#"{"kind":"progress","rank":-2,"ts":1,"step":1}"#, "field 'rank': -2 is below -1"),
        (#"{"kind":"progress","rank":0,"ts":1,"step":1.5}"#, "field 'step': expected integer, got number"),
        (#"{"kind":"barrier.enter","rank":0,"ts":1,"n":-1}"#, "field 'n': -1 is below 0"),
        (#"{"kind":"trigger.check","rank":0,"ts":1,"n":0,"fired":"yes"}"#, "field 'fired': expected boolean, got string"),
        (#"{"kind":"heartbeat","rank":0,"ts":"now"}"#, "field 'ts': expected number, got string"),
        (#"{"kind":"heartbeat","rank":0,"ts":NaN}"#, "field 'ts': not a finite number"),
        (#"{"kind":"heartbeat","rank":0}"#, "missing field 'ts'"),
        (#"{"rank":0,"ts":1}"#, "missing field 'kind'"),
        (#"{"kind":"warp","rank":0,"ts":1}"#, "unknown kind 'warp'"),
        (#"{"kind":"hello","rank":0,"ts":1,"v":2,"run":"r","world":1,"local_rank":0,"local_world":1,"node":"n","pid":1,"runtime":"x"}"#, "field 'v': protocol version 2 is not supported (expected 1)"),
        (#"{"kind":"hello","rank":0,"ts":1,"v":1,"run":"r","world":0,"local_rank":0,"local_world":1,"node":"n","pid":1,"runtime":"x"}"#, "field 'world': 0 is below 1"),
        (#"{"kind":"phase.enter","rank":0,"ts":1,"name":"p","mode":"first","main":true}"#, "field 'mode': 'first' is not main_first or local_main_first"),
        (#"{"kind":"progress","rank":0,"ts":1,"step":1,"metrics":{"loss":"low"}}"#, "field 'metrics.loss': expected number, got string"),
        (#"{"kind":"progress","rank":-1,"ts":1,"step":1}"#, "field 'rank': -1 is only for run-wide events, not 'progress'"),
        (#"[1]"#, "not a JSON object"),
        (#""#, "empty line"),
        (#"{"kind":"heartbeat","rank":0,"ts":1} x"#, "invalid JSON: trailing characters after the object at byte 38"),
        (#"{"kind":"heartbeat","rank":0,"ts":01}"#, "invalid JSON: invalid number (leading zero) at byte 37"),
        (#"{"kind":"heartbeat","rank":0,"ts":1"#, "invalid JSON: unterminated object at byte 36"),
    ])
    func invalidLinesAreRejectedWithAReason(line: String, reason: String) {
        var decoder = EventDecoder()
        #expect(decoder.decode(line) == .failure(DecodeError(reason)))
    }

    @Test func ranksAreCheckedAgainstTheWorldOnceAHelloAnnouncedIt() {
        var decoder = EventDecoder()
        #expect((try? decoder.decode(#"{"kind":"heartbeat","rank":9,"ts":1}"#).get()) != nil, "no world known yet")
        _ = decoder.decode(#"{"kind":"hello","rank":0,"ts":1,"v":1,"run":"r","world":4,"local_rank":0,"local_world":4,"node":"n","pid":1,"runtime":"x"}"#)
        #expect(decoder.decode(#"{"kind":"heartbeat","rank":4,"ts":1}"#) == .failure(DecodeError("field 'rank': 4 is outside the world of 4")))
        #expect((try? decoder.decode(#"{"kind":"heartbeat","rank":3,"ts":1}"#).get()) != nil)
    }

    @Test func invalidUTF8IsRejected() {
        var decoder = EventDecoder()
        var bytes = Array(#"{"kind":"log","rank":0,"ts":1,"level":"info","msg":"caf"#.utf8)
        bytes += [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(decoder.decode(bytes) == .failure(DecodeError("invalid UTF-8")))
    }

    @Test func aLineOverTheLimitIsRejected() {
        var decoder = EventDecoder()
        let line = #"{"kind":"log","rank":0,"ts":1,"level":"info","msg":""# + String(repeating: "x", count: 70_000) + #""}"#
        #expect(decoder.decode(line) == .failure(DecodeError("line longer than 65536 bytes")))
    }

    @Test func deeplyNestedJunkIsRejectedWithoutExhaustingTheStack() {
        var decoder = EventDecoder()
        let line = #"{"kind":"heartbeat","rank":0,"ts":1,"x":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        guard case let .failure(error) = decoder.decode(line) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(error.reason.contains("nested too deeply"))
    }

    /// Random events of every kind, with awkward strings and numbers, round-trip exactly.
    @Test func randomEventsRoundTrip() {
        var rng = SplitMix64(seed: 42)
        var decoder = EventDecoder()
        for _ in 0..<2000 {
            let event = RandomEvents.make(&rng)
            let line = EventEncoder.line(event)
            #expect(decoder.decode(String(line.dropLast())) == .success(event), "\(line)")
        }
    }
}

@Suite struct HostileNumbersTests {
    @Test func absurdWorldsAndRanksAreRejectedBeforeAnyoneAllocatesForThem() {
        var decoder = EventDecoder()
        #expect(decoder.decode(#"{"kind":"heartbeat","rank":4000000000,"ts":1}"#) == .failure(DecodeError("field 'rank': 4000000000 is above the supported maximum 1048575")))
        #expect(decoder.decode(#"{"kind":"hello","rank":0,"ts":1,"v":1,"run":"r","world":99999999999,"local_rank":0,"local_world":1,"node":"n","pid":1,"runtime":"x"}"#) == .failure(DecodeError("field 'world': 99999999999 is above the supported maximum 1048576")))
    }
}

/// Issue 8, A.1 and A.3: values no emitter sends are refused at the door.
@Suite struct HostileFieldTests {
    @Test(arguments: [
        (#"{"kind":"heartbeat","rank":0,"ts":-1e308}"#, "not a Unix time"),
        (#"{"kind":"heartbeat","rank":0,"ts":1e300}"#, "not a Unix time"),
        (#"{"kind":"heartbeat","rank":0,"ts":1,"seq":9223372036854775807}"#, "above the supported maximum"),
        (#"{"kind":"progress","rank":0,"ts":1,"step":9007199254740993}"#, "above the supported maximum"),
        (#"{"kind":"hello","rank":5,"ts":1,"v":1,"run":"r","world":4,"local_rank":0,"local_world":1,"node":"n","pid":1,"runtime":"x"}"#, "outside the world of 4"),
        (#"{"kind":"discarded","rank":-1,"ts":1,"count":-1}"#, "below 0"),
        (#"{"kind":"collective.enter","rank":0,"ts":1,"group":"world","n":0}"#, "missing field 'op'"),
        (#"{"kind":"collective.enter","rank":0,"ts":1,"group":"world","n":-1,"op":"all_reduce"}"#, "below 0"),
        (#"{"kind":"collective.enter","rank":0,"ts":1,"group":"g","n":0,"op":"all_reduce","members":[0,"x"]}"#, "expected integers"),
        (#"{"kind":"collective.enter","rank":0,"ts":1,"group":"g","n":0,"op":"all_reduce","members":[0,2000000]}"#, "expected integers"),
        (#"{"kind":"collective.enter","rank":0,"ts":1,"group":"g","n":0,"op":"all_reduce","async":"yes"}"#, "expected boolean"),
        (#"{"kind":"collective.exit","rank":0,"ts":1,"n":3}"#, "missing field 'group'"),
    ])
    func test_isRejected(line: String, reason: String) {
        var decoder = EventDecoder()
        guard case let .failure(error) = decoder.decode(line) else {
            Issue.record("accepted: \(line)")
            return
        }
        #expect(error.reason.contains(reason), "\(error.reason)")
    }

    @Test func test_theCollectorsDiscardedEventRoundTrips() throws {
        let event = Event(rank: -1, ts: 5, .discarded(count: 12, reason: "No space left on device"))
        var decoder = EventDecoder()
        #expect(try decoder.decode(EventEncoder.line(event).dropLast(1).description).get() == event)
    }

    @Test func test_aRankSetIsItsRangesAndItsRanks() {
        let set = RankSet([9, 1, 2, 3, 7, 2])
        #expect(set.ranges == [1...3, 7...7, 9...9])
        #expect(Array(set) == [1, 2, 3, 7, 9])
        #expect(set.count == 5 && set[3] == 7 && set.contains(rank: 2) && !set.contains(rank: 8))
        #expect(RankSet.complement(of: [0, 2, 3], in: 6).ranges == [1...1, 4...5])
        #expect(set.text(limit: 2) == "1-3, 7, ... (5 ranks)")
        #expect(JSONValue.ranks(set).serialized == "[1,2,3,7,9]")
        #expect(JSONValue.ranks(set) == JSONValue.parse("[1,2,3,7,9]"))
        // Ascending input (with repeats) is taken as it comes; any other order is sorted first:
        // the same set either way.
        var rng = SplitMix64(seed: 9)
        for _ in 0..<200 {
            let ranks = (0..<Int.random(in: 0...40, using: &rng)).map { _ in Int.random(in: -3...60, using: &rng) }
            let expected = Array(Set(ranks)).sorted()
            #expect(Array(RankSet(ranks)) == expected)
            #expect(Array(RankSet(ranks.sorted())) == expected)
            #expect(RankSet(ranks) == RankSet(ranks.sorted()))
        }
    }
}

@Suite struct TableSizeTests {
    @Test func test_kindOrdinalsAreExactlyTheTableIndices() {
        #expect(EventKind.allCases.map(\.ordinal).sorted() == Array(0..<EventKind.count))
        #expect(EventKind.count == EventKind.allCases.count)
    }
}
