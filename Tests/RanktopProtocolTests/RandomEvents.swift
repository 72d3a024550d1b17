@testable import RanktopProtocol


enum RandomEvents {
    static let awkward = ["", "plain", "quote\"", "back\\slash", "new\nline", "tab\t", "ctl\u{1}\u{1f}", "é", "日本語", "😀", "/slash"]

    static func string<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        awkward.randomElement(using: &rng)! + String(Int.random(in: 0...999, using: &rng))
    }

    static func number<R: RandomNumberGenerator>(_ rng: inout R) -> Double {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: Double(Int.random(in: -1000...1000, using: &rng))
        case 1: Double.random(in: -1e6...1e6, using: &rng)
        case 2: Double.random(in: 0...1, using: &rng) * 1e-7
        default: Double.random(in: -1e300...1e300, using: &rng)
        }
    }

    static func make<R: RandomNumberGenerator>(_ rng: inout R) -> Event {
        let rank = Int.random(in: 0...4095, using: &rng)
        let ts = (Double(Int.random(in: 1_700_000_000_000_000...1_800_000_000_000_000, using: &rng)) / 1_000_000)
        let seq = Bool.random(using: &rng) ? Int.random(in: 0...1_000_000, using: &rng) : nil
        let maybe: (inout R) -> String? = { Bool.random(using: &$0) ? string(&$0) : nil }
        let body: EventBody
        switch Int.random(in: 0..<18, using: &rng) {
        case 0: body = .hello(Hello(run: string(&rng), world: 4096, localRank: 1, localWorld: 8, node: string(&rng), pid: 77, runtime: string(&rng), timeout: Bool.random(using: &rng) ? 1800.5 : nil, restart: Bool.random(using: &rng) ? 2 : nil, caps: [string(&rng)], token: maybe(&rng)))
        case 1: body = .progress(Progress(step: Int.random(in: 0...1_000_000, using: &rng), total: Bool.random(using: &rng) ? 1_000_000 : nil, epoch: Bool.random(using: &rng) ? number(&rng) : nil, metrics: (0..<Int.random(in: 0...3, using: &rng)).map { _ in Metric(string(&rng), number(&rng)) }))
        case 2: body = .barrierEnter(BarrierEnter(n: Int.random(in: 0...99999, using: &rng), name: maybe(&rng), site: maybe(&rng), phase: maybe(&rng)))
        case 3: body = .barrierExit(n: Int.random(in: 0...99999, using: &rng))
        case 4: body = .phaseEnter(PhaseEnter(name: string(&rng), mode: Bool.random(using: &rng) ? .mainFirst : .localMainFirst, main: Bool.random(using: &rng)))
        case 5: body = .phaseExit(name: string(&rng))
        case 6: body = .triggerSet(TriggerSet(source: Bool.random(using: &rng) ? .code : .manual, reason: maybe(&rng), id: maybe(&rng)))
        case 7: body = .triggerCheck(n: Int.random(in: 0...99999, using: &rng), fired: Bool.random(using: &rng))
        case 8: body = .log(level: LogLevel.allCases.randomElement(using: &rng)!, msg: string(&rng))
        case 9: body = .heartbeat
        case 10: body = .stack(id: string(&rng), frames: (0..<3).map { _ in string(&rng) })
        case 11: body = .bye(code: Bool.random(using: &rng) ? Int.random(in: -9...255, using: &rng) : nil, error: maybe(&rng))
        case 12: body = .lost(reason: string(&rng))
        case 13: body = .dropped(count: Int.random(in: 0...99999, using: &rng))
        case 14: body = .collectiveEnter(CollectiveEnter(
            group: string(&rng), n: Int.random(in: 0...99999, using: &rng), op: string(&rng),
            size: Bool.random(using: &rng) ? Int.random(in: 1...4096, using: &rng) : nil,
            members: Bool.random(using: &rng) ? [0, Int.random(in: 1...4095, using: &rng)] : nil,
            bytes: Bool.random(using: &rng) ? Int.random(in: 0...1 << 40, using: &rng) : nil, dtype: maybe(&rng),
            site: maybe(&rng), label: maybe(&rng), isAsync: Bool.random(using: &rng) ? Bool.random(using: &rng) : nil))
        case 15: body = .collectiveExit(CollectiveExit(group: string(&rng), n: Int.random(in: 0...99999, using: &rng), op: maybe(&rng)))
        case 16:
            let record = CollectorRecord(state: Bool.random(using: &rng) ? .start : .end, pid: Int.random(in: 1...4_194_304, using: &rng), node: string(&rng))
            return Event(rank: -1, ts: ts, seq: nil, .collector(record))
        default: return Event(rank: -1, ts: ts, seq: nil, .inject(Injection(id: string(&rng), reason: maybe(&rng), by: maybe(&rng))))
        }
        return Event(rank: rank, ts: ts, seq: seq, body)
    }
}
