/// A rectangle of cells; `x`, `y` is the top-left corner.
public struct Rect: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width == 0 || height == 0 }

    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    /// The rectangle shrunk by `n` cells on every side (a bordered panel's inside).
    public func inset(by n: Int) -> Rect {
        Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n)
    }

    /// Splits off the top `rows` rows: (top, rest).
    public func splitTop(_ rows: Int) -> (Rect, Rect) {
        let top = min(max(0, rows), height)
        return (Rect(x: x, y: y, width: width, height: top), Rect(x: x, y: y + top, width: width, height: height - top))
    }

    /// Splits off the left `columns` columns: (left, rest).
    public func splitLeft(_ columns: Int) -> (Rect, Rect) {
        let left = min(max(0, columns), width)
        return (Rect(x: x, y: y, width: left, height: height), Rect(x: x + left, y: y, width: width - left, height: height))
    }

    /// `count` columns side by side, as equal as whole cells allow.
    public func columns(_ count: Int) -> [Rect] {
        guard count > 0 else { return [] }
        var result: [Rect] = []
        var start = x
        for i in 0..<count {
            let end = x + (width * (i + 1)) / count
            result.append(Rect(x: start, y: y, width: end - start, height: height))
            start = end
        }
        return result
    }

    /// Columns side by side with widths in proportion to `weights`.
    public func columns(weights: [Int]) -> [Rect] {
        let total = weights.reduce(0, +)
        guard total > 0 else { return [] }
        var result: [Rect] = []
        var start = x
        var sum = 0
        for weight in weights {
            sum += weight
            let end = x + (width * sum) / total
            result.append(Rect(x: start, y: y, width: end - start, height: height))
            start = end
        }
        return result
    }

    /// Columns side by side, of these widths (which add up to this width).
    public func columns(widths: [Int]) -> [Rect] {
        var start = x
        return widths.map { width in
            defer { start += width }
            return Rect(x: start, y: y, width: width, height: height)
        }
    }

    /// Rows stacked, of these heights (which add up to this height).
    public func rows(heights: [Int]) -> [Rect] {
        var start = y
        return heights.map { height in
            defer { start += height }
            return Rect(x: x, y: start, width: width, height: height)
        }
    }

    /// `count` rows stacked, as equal as whole cells allow.
    public func rows(_ count: Int) -> [Rect] {
        guard count > 0 else { return [] }
        var result: [Rect] = []
        var start = y
        for i in 0..<count {
            let end = y + (height * (i + 1)) / count
            result.append(Rect(x: x, y: start, width: width, height: end - start))
            start = end
        }
        return result
    }
}

public struct Size: Hashable, Sendable {
    public var width: Int
    public var height: Int
    public init(width: Int, height: Int) { (self.width, self.height) = (width, height) }
}
