/// An in-memory screen for tests: inputs are queued by the test, frames are kept as canvases,
/// and waiting for input with nothing queued moves a `VirtualClock` on by the timeout, as if the
/// loop had slept that long.
public final class TestScreen: Screen {
    public var size: Size
    public var capabilities: ScreenCapabilities
    /// Every frame drawn, oldest first.
    public private(set) var frames: [Canvas] = []
    /// How many times `invalidate` was called.
    public private(set) var invalidations = 0
    /// The timeouts the loop asked `readInputs` for, oldest first.
    public private(set) var waits: [Double] = []
    private var queued: [InputEvent] = []
    private let clock: VirtualClock?

    public init(size: Size, capabilities: ScreenCapabilities = ScreenCapabilities(utf8: true, depth: .direct), clock: VirtualClock? = nil) {
        self.size = size
        self.capabilities = capabilities
        self.clock = clock
    }

    /// The last frame drawn, as text.
    public var text: String? { frames.last?.text() }

    public func send(_ inputs: InputEvent...) {
        queued += inputs
    }

    public func press(_ keys: Key...) {
        queued += keys.map(InputEvent.key)
    }

    /// Each character of `text` as a key.
    public func type(_ text: String) {
        queued += text.map { .key(.char($0)) }
    }

    public func draw(_ canvas: Canvas) {
        frames.append(canvas)
    }

    public func invalidate() {
        invalidations += 1
    }

    public func readInputs(timeout: Double) -> [InputEvent] {
        waits.append(timeout)
        guard !queued.isEmpty else {
            clock?.advance(by: timeout)
            return []
        }
        defer { queued.removeAll() }
        return queued
    }
}
