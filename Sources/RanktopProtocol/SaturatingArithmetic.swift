extension Int {
    /// Counters fed by untrusted input stop at `Int.max` (or `Int.min`) instead of trapping.
    public func saturatingAdd(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
