import RanktopUI
import Testing

@Suite struct FormattingTests {
    @Test func test_durationsAreShortAndExact() {
        #expect(Formatting.duration(0.04) == "0.0s")
        #expect(Formatting.duration(4.26) == "4.3s")
        #expect(Formatting.duration(42.9) == "42s")
        #expect(Formatting.duration(185) == "3m05s")
        #expect(Formatting.duration(3725) == "1h02m")
        #expect(Formatting.duration(2 * 86_400 + 3 * 3600) == "2d03h")
        #expect(Formatting.duration(-5) == "0.0s")
        #expect(Formatting.duration(.infinity) == "-")
    }

    @Test func test_clockAndTimeOfDay() {
        #expect(Formatting.clock(75) == "01:15")
        #expect(Formatting.clock(3725) == "1:02:05")
        #expect(Formatting.timeOfDay(1_764_374_400.25, offset: 0) == "00:00:00.250")
        #expect(Formatting.timeOfDay(1_764_374_400.25, offset: 3600) == "01:00:00.250")
    }

    @Test func test_quantitiesAndMetrics() {
        #expect(Formatting.quantity(0.4219) == "0.42")
        #expect(Formatting.quantity(3.14) == "3.1")
        #expect(Formatting.quantity(840) == "840")
        #expect(Formatting.quantity(13_812) == "13.8k")
        #expect(Formatting.quantity(2_500_000) == "2500k")
        #expect(Formatting.metric(2.31) == "2.310")
        #expect(Formatting.metric(0.0003) == "3.00e-4")
        #expect(Formatting.metric(12) == "12")
    }

    @Test func test_missingRanksAreRanges() {
        #expect(RankRanges.text([2, 5, 6, 7, 8, 9, 1024]) == "2, 5-9, 1024")
        #expect(RankRanges.text([]) == "")
        #expect(RankRanges.text([3, 3, 4]) == "3-4")
        let many = Array(stride(from: 0, to: 4096, by: 2))
        let fitted = RankRanges.text(many, fitting: 30)
        #expect(fitted.count <= 30 + 12)
        #expect(fitted.hasSuffix("more"))
        #expect(fitted.hasPrefix("0, 2, 4"))
    }
}
