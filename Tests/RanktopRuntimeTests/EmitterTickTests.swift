import Testing
@testable import RanktopEmitter
import RanktopProtocol

/// The writer lingers until the next multiple of its interval on the wall clock, so that the ranks
/// of a host send together (one collector wake for several), never later than one interval.
@Suite struct EmitterTickTests {
    @Test func theNextTickIsAMultipleOfTheIntervalWithinOneInterval() {
        for interval in [0.02, 0.05, 0.25] {
            for _ in 0..<200 {
                let before = WallClock.now
                let wait = EmitterWriter.untilNextTick(of: interval)
                let after = WallClock.now
                #expect(wait >= 0 && wait <= interval, "\(wait)")
                // The tick it aims at lies within the time the call took, and is a multiple.
                let tick = ((before + wait) / interval).rounded() * interval
                #expect(tick >= before - 1e-6 && tick <= after + interval + 1e-6)
                #expect(abs((before + wait) - tick) <= (after - before) + 1e-6, "\(before) + \(wait) is not at a tick of \(interval)")
            }
        }
        #expect(EmitterWriter.untilNextTick(of: 0) == 0)
    }
}
