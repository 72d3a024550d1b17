import CNcursesShim
import RanktopUI
#if canImport(Glibc)
import Glibc
#endif

/// The terminal, through ncurses: started and restored, sized, drawn on (a canvas, written once
/// per frame) and read from. One instance, used from one thread: ncurses is not thread-safe.
final class TerminalScreen {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    let capabilities: ScreenCapabilities
    private var pairs: ColorPairs
    private var previous: Canvas?
    private var buffer: [wchar_t] = []

    /// Sets the locale, starts curses, colour (unless `noColor`) and the mouse.
    init(noColor: Bool) throws(Unavailable) {
        let utf8 = rt_setlocale_is_utf8() != 0
        guard rt_start() == 0 else {
            let term = getenv("TERM").map { String(cString: $0) } ?? "(unset)"
            throw Unavailable(description: "cannot use this terminal for the dashboard (TERM=\(term)); stdin and stdout must be a terminal ncurses knows")
        }
        let colors = noColor ? 0 : Int(rt_start_color())
        let depth = ColorDepth(colors: colors)
        capabilities = ScreenCapabilities(utf8: utf8, depth: depth)
        pairs = ColorPairs(depth: depth, maxPairs: Int(rt_color_pairs()))
        rt_enable_mouse()
    }

    deinit { stop() }

    func stop() {
        rt_stop()
    }

    var size: Size { Size(width: Int(rt_cols()), height: Int(rt_lines())) }

    /// Puts `canvas` on screen: rows that changed since the last frame, in runs of one style,
    /// then one refresh (ncurses writes only the difference).
    func draw(_ canvas: Canvas) {
        if let previous, previous == canvas { return }
        let full = previous.map { $0.width != canvas.width || $0.height != canvas.height } ?? true
        for y in 0..<canvas.height {
            if !full, let previous, rowEqual(previous, canvas, y) { continue }
            drawRow(canvas, y)
        }
        rt_refresh()
        previous = canvas
    }

    /// The next frame redraws every cell (after a resize the terminal's content is unknown).
    func invalidate() {
        previous = nil
        rt_clear_screen()
    }

    private func rowEqual(_ a: Canvas, _ b: Canvas, _ y: Int) -> Bool {
        for x in 0..<a.width where a[x, y] != b[x, y] { return false }
        return true
    }

    private func drawRow(_ canvas: Canvas, _ y: Int) {
        var x = 0
        while x < canvas.width {
            let style = canvas[x, y].style
            let start = x
            buffer.removeAll(keepingCapacity: true)
            while x < canvas.width, canvas[x, y].style == style {
                let cell = canvas[x, y]
                if !cell.isContinuation { buffer.append(wchar_t(bitPattern: cell.scalar.value)) }
                x += 1
            }
            let (attrs, pair) = pairs.attributes(for: style)
            buffer.withUnsafeBufferPointer { chars in
                rt_put(Int32(y), Int32(start), chars.baseAddress, Int32(chars.count), attrs, pair)
            }
        }
    }

    /// Every input waiting, without blocking.
    func readWaitingInputs() -> [InputEvent] {
        var inputs: [InputEvent] = []
        var code: Int32 = 0
        while inputs.count < 256 {
            let kind = rt_read_key(&code)
            if kind == 0 { break }
            if kind == 2 {
                if code == KEY_RESIZE {
                    inputs.append(.resize)
                } else if code == KEY_MOUSE {
                    if let mouse = readMouse() { inputs.append(.mouse(mouse)) }
                } else if let key = KeyDecoder.keyCode(code) {
                    inputs.append(.key(key))
                }
            } else if let key = KeyDecoder.character(code) {
                inputs.append(.key(key))
            }
        }
        return inputs
    }

    private func readMouse() -> MouseEvent? {
        var x: Int32 = 0, y: Int32 = 0, kind: Int32 = 0
        guard rt_read_mouse(&x, &y, &kind) != 0 else { return nil }
        let kinds: [Int32: MouseEvent.Kind] = [1: .click, 2: .doubleClick, 3: .wheelUp, 4: .wheelDown]
        return kinds[kind].map { MouseEvent($0, x: Int(x), y: Int(y)) }
    }
}
