/// One terminal cell: a character and its style. A wide character takes its cell and the next;
/// the next is marked as its continuation and never drawn on its own.
public struct Cell: Hashable, Sendable {
    public var scalar: Unicode.Scalar
    public var style: Style
    public var isContinuation: Bool

    public init(_ scalar: Unicode.Scalar, _ style: Style, isContinuation: Bool = false) {
        self.scalar = scalar
        self.style = style
        self.isContinuation = isContinuation
    }
}
