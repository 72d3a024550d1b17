import RanktopProtocol
/// Rank lists as ranges that fit a cell: `2, 5-9, 1024-2047 +3 more` (the ranges themselves are
/// `RankSet`'s, the text the one `Format`'s). The missing ranks of a barrier are the key
/// diagnostic, and at 4096 ranks they only fit on a line this way.
public enum RankRanges {
    /// Consecutive runs of `ranks` (any order, duplicates ignored).
    public static func runs(_ ranks: [Int]) -> [ClosedRange<Int>] {
        RankSet(ranks).ranges
    }

    public static func text(_ ranks: [Int]) -> String {
        RankSet(ranks).text()
    }

    static func text(_ run: ClosedRange<Int>) -> String {
        run.lowerBound == run.upperBound ? "\(run.lowerBound)" : "\(run.lowerBound)-\(run.upperBound)"
    }

    /// The ranges that fit in `width` columns, then `+N more` naming how many ranks were left out.
    public static func text(_ ranks: [Int], fitting width: Int) -> String {
        let all = runs(ranks)
        var out = ""
        for (i, run) in all.enumerated() {
            let piece = (i == 0 ? "" : ", ") + text(run)
            let remaining = all[(i + 1)...].reduce(0) { $0 + $1.count }
            let suffix = remaining > 0 ? " +\(remaining) more" : ""
            if out.count + piece.count + suffix.count > width, i > 0 {
                let left = all[i...].reduce(0) { $0 + $1.count }
                return out + " +\(left) more"
            }
            out += piece
        }
        return out
    }
}
