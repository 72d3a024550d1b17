extension Format {
    /// About a thousand years: a log may claim any timestamp, and `Int(_:)` traps past `Int.max`.
    static let maxSeconds = 3.2e10

    /// Elapsed time as a clock: `04:12`, `1:02:33`, `2d 03:04:05`.
    public static func clock(_ seconds: Double) -> String {
        let whole = Int(min(max(0, seconds.isFinite ? seconds : 0), maxSeconds))
        let days = whole / 86_400, h = (whole % 86_400) / 3600, m = (whole % 3600) / 60, s = whole % 60
        if days > 0 { return "\(days)d " + pad2(h) + ":" + pad2(m) + ":" + pad2(s) }
        if h > 0 { return "\(h):" + pad2(m) + ":" + pad2(s) }
        return pad2(m) + ":" + pad2(s)
    }

    /// Time of day (UTC plus `offset` seconds) with milliseconds: `12:31:04.123`.
    public static func timeOfDay(_ ts: Double, offset: Int) -> String {
        // Any finite ts is a valid event timestamp; keep the conversions below from trapping.
        let shifted = min(max(ts.isFinite ? ts : 0, -maxSeconds), maxSeconds) + Double(offset)
        let millis = Int((shifted - shifted.rounded(.down)) * 1000)
        let secondsOfDay = ((Int(shifted.rounded(.down)) % 86_400) + 86_400) % 86_400
        return pad2(secondsOfDay / 3600) + ":" + pad2((secondsOfDay % 3600) / 60) + ":" + pad2(secondsOfDay % 60) + "." + pad3(millis)
    }

    /// A rate or other small quantity: `0.42`, `3.1`, `42`, `1.2k`, `3.4M`.
    public static func quantity(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let v = abs(value)
        let sign = value < 0 ? "-" : ""
        if v < 1 { return sign + fixed(v, decimals: 2) }
        if v < 100 { return sign + fixed(v, decimals: 1) }
        if v < 10_000 { return sign + "\(Int(v.rounded()))" }
        if v < 10_000_000 { return sign + fixed(v / 1000, decimals: v < 100_000 ? 1 : 0) + "k" }
        return sign + fixed(v / 1_000_000, decimals: 1) + "M"
    }

    /// A metric value: integers as integers, small numbers with significant digits.
    public static func metric(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        let v = abs(value)
        if v == value.rounded(), v < 1e9 { return "\(Int(value))" }
        if v >= 1000 { return quantity(value) }
        if v >= 1 { return fixed(value, decimals: 3) }
        if v >= 0.001 { return fixed(value, decimals: 4) }
        return scientific(value)
    }

    /// A count: `812`, `12.3k`, `4.5M`.
    public static func count(_ n: Int) -> String {
        n < 10_000 ? "\(n)" : quantity(Double(n))
    }

    public static func fixed(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e17 else { return "\(value)" }
        let whole = Int(scaled)
        let sign = value < 0 && whole != 0 ? "-" : ""
        guard decimals > 0 else { return sign + "\(whole)" }
        let factor = Int(scale)
        var fraction = String(whole % factor)
        while fraction.count < decimals { fraction = "0" + fraction }
        return sign + "\(whole / factor)." + fraction
    }

    public static func scientific(_ value: Double) -> String {
        guard value != 0 else { return "0" }
        var exponent = 0
        var mantissa = abs(value)
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        return (value < 0 ? "-" : "") + fixed(mantissa, decimals: 2) + "e" + "\(exponent)"
    }

    public static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    public static func pad3(_ n: Int) -> String { n < 10 ? "00\(n)" : n < 100 ? "0\(n)" : "\(n)" }
}
