/// A one-line text input (the filter prompt, the trigger reason).
public struct TextField: Sendable, Equatable {
    public private(set) var text: String
    /// Cursor position in characters.
    public private(set) var cursor: Int
    public let limit: Int

    public init(_ text: String = "", limit: Int = 200) {
        self.text = String(text.prefix(limit))
        self.limit = limit
        cursor = self.text.count
    }

    /// Applies an editing key; false when the key is not an editing key.
    public mutating func edit(_ key: Key) -> Bool {
        var chars = Array(text)
        switch key {
        case let .char(c):
            guard chars.count < limit, !c.isNewline else { return true }
            chars.insert(c, at: cursor)
            cursor += 1
        case .backspace:
            guard cursor > 0 else { return true }
            chars.remove(at: cursor - 1)
            cursor -= 1
        case .delete:
            guard cursor < chars.count else { return true }
            chars.remove(at: cursor)
        case .left:
            cursor = max(0, cursor - 1)
        case .right:
            cursor = min(chars.count, cursor + 1)
        case .home, .ctrl("a"):
            cursor = 0
        case .end, .ctrl("e"):
            cursor = chars.count
        case .ctrl("u"):
            chars.removeSubrange(0..<cursor)
            cursor = 0
        case .ctrl("w"):
            var start = cursor
            while start > 0, chars[start - 1] == " " { start -= 1 }
            while start > 0, chars[start - 1] != " " { start -= 1 }
            chars.removeSubrange(start..<cursor)
            cursor = start
        default:
            return false
        }
        text = String(chars)
        return true
    }
}
