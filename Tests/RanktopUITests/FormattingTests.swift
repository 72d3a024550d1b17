import RanktopModel
import RanktopUI
import Testing

@Suite struct FormattingTests {
    @Test func test_durationsAreShortAndExact() {
        // One formatter for the report and the dashboard: milliseconds below a second.
        #expect(Format.duration(0.031) == "31ms")
        #expect(Format.duration(0.0001) == "<1ms")
        #expect(Format.duration(0.9999) == "1.0s")
        #expect(Format.duration(1.44) == "1.4s")
        #expect(Format.duration(4.26) == "4.3s")
        #expect(Format.duration(9.97) == "10s")
        #expect(Format.duration(42.9) == "42s")
        #expect(Format.duration(185) == "3m05s")
        #expect(Format.duration(3725) == "1h02m")
        #expect(Format.duration(2 * 86_400 + 3 * 3600) == "2d03h")
        #expect(Format.duration(-5) == "0ms")
        #expect(Format.duration(.infinity) == "-")
    }

    @Test func test_clockAndTimeOfDay() {
        #expect(Format.clock(75) == "01:15")
        #expect(Format.clock(3725) == "1:02:05")
        #expect(Format.timeOfDay(1_764_374_400.25, offset: 0) == "00:00:00.250")
        #expect(Format.timeOfDay(1_764_374_400.25, offset: 3600) == "01:00:00.250")
    }

    @Test func test_quantitiesAndMetrics() {
        #expect(Format.quantity(0.4219) == "0.42")
        #expect(Format.quantity(3.14) == "3.1")
        #expect(Format.quantity(840) == "840")
        #expect(Format.quantity(13_812) == "13.8k")
        #expect(Format.quantity(2_500_000) == "2500k")
        #expect(Format.metric(2.31) == "2.310")
        #expect(Format.metric(0.0003) == "3.00e-4")
        #expect(Format.metric(12) == "12")
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
