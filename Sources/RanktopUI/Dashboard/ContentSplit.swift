/// Shares a length (columns of the dock, rows of a dock column) among panels by what their
/// content needs, so that room goes where text would otherwise be cut.
enum ContentSplit {
    /// `total` cells among parts that need `needs` (each at least `minimum`). When everything
    /// fits, each gets its need and the spare goes to `spareTo` (evenly among all when nil). When
    /// not, the smaller needs are met first and the rest share what is left equally (max-min
    /// fair), so that one long line cannot starve a panel that needs little.
    /// `weights`: how what is left is shared among the needs that cannot all be met (equal
    /// when nil), for a panel read first to keep more of its lines.
    static func share(_ total: Int, needs: [Int], minimum: Int, spareTo: Int? = nil, weights: [Int]? = nil) -> [Int] {
        let count = needs.count
        guard count > 0 else { return [] }
        guard total >= minimum * count else { return equal(total, count) }
        let wants = needs.map { max($0, minimum) }
        var sizes = Array(repeating: 0, count: count)
        if wants.reduce(0, +) <= total {
            sizes = wants
            let spare = total - wants.reduce(0, +)
            if let spareTo, sizes.indices.contains(spareTo) {
                sizes[spareTo] += spare
            } else {
                for (i, extra) in equal(spare, count).enumerated() { sizes[i] += extra }
            }
            return sizes
        }
        var left = total
        var open = Array(sizes.indices).sorted { wants[$0] < wants[$1] }
        let weight = { (i: Int) in max(1, weights.flatMap { $0.indices.contains(i) ? $0[i] : nil } ?? 1) }
        while let smallest = open.first {
            let openWeight = open.reduce(0) { $0 + weight($1) }
            if wants[smallest] <= left * weight(smallest) / openWeight {
                sizes[smallest] = wants[smallest]
                left -= wants[smallest]
                open.removeFirst()
            } else {
                // The rest cannot all be met: they share by weight, in their order on screen.
                for (i, size) in zip(open.sorted(), weighted(left, open.sorted().map(weight))) { sizes[i] = size }
                break
            }
        }
        return sizes
    }

    static func weighted(_ total: Int, _ weights: [Int]) -> [Int] {
        let sum = max(1, weights.reduce(0, +))
        var before = 0, start = 0
        return weights.map { w in
            before += w
            let end = total * before / sum
            defer { start = end }
            return end - start
        }
    }

    static func equal(_ total: Int, _ count: Int) -> [Int] {
        (0..<count).map { i in (total * (i + 1)) / count - (total * i) / count }
    }
}
