/// A stack frame written for people, fitted to a width, in pieces a screen can style apart:
/// `▶ train_step (train.py:42)  loss = model(batch)`.
public struct FittedFrame: Sendable, Equatable {
    /// `▶ ` before the user's own frames, two spaces before the others (they line up).
    public var marker: String
    public var function: String
    /// ` (file:line)`, shortened from the left when it does not fit; empty when it cannot.
    public var location: String
    /// `  source code` and `  waiting 3.2 s`: what goes first when room is short.
    public var detail: String

    public var text: String { marker + function + location + detail }
}

extension Format {
    /// The mark of a user's own frame.
    public static func userFrameMarker(ascii: Bool) -> String { ascii ? "* " : "▶ " }

    /// `frame` in at most `width` columns. What goes first when it does not fit: the source line
    /// and note, then the location's directories (`(…/modules/module.py:1736)`), then the
    /// location; the function is cut last, at its end, so it is always what shows.
    /// `ellipsis`: what marks a cut (default `…`, or `...` in ASCII).
    public static func frame(_ frame: StackFrame, width: Int, ascii: Bool = false, ellipsis: String? = nil) -> FittedFrame {
        let ellipsis = ellipsis ?? (ascii ? "..." : "…")
        let marker = frame.isUser ? userFrameMarker(ascii: ascii) : "  "
        var detail = [frame.code, frame.note].compactMap { $0 }.map { "  " + $0 }.joined()
        var function = frame.function
        var location = frame.location.map { " (\($0))" } ?? ""
        let width = max(0, width)
        func used() -> Int { marker.count + function.count + location.count + detail.count }
        if used() <= width { return FittedFrame(marker: marker, function: function, location: location, detail: detail) }

        // The detail, cut at its end while a useful part of it fits.
        let detailRoom = width - (marker.count + function.count + location.count)
        detail = detailRoom >= 8 ? String(detail.prefix(detailRoom - ellipsis.count)) + ellipsis : ""
        if used() <= width { return FittedFrame(marker: marker, function: function, location: location, detail: detail) }

        // The location, cut from the left at a directory: the file name and line are what tell
        // frames apart, so they stay whole or the location goes.
        if let whole = frame.location {
            let room = width - (marker.count + function.count) - " ()".count
            location = ""
            if room >= whole.count {
                location = " (\(whole))"
            } else {
                let cuts = whole.indices.filter { whole[$0] == "/" }.map { whole[whole.index(after: $0)...] }
                if let tail = cuts.first(where: { $0.count + ellipsis.count + 1 <= room }) {
                    location = " (" + ellipsis + "/" + tail + ")"
                }
            }
        }
        if used() <= width { return FittedFrame(marker: marker, function: function, location: location, detail: detail) }

        // Only the function, cut at its end.
        location = ""
        let left = width - marker.count
        if function.count > left {
            function = left > ellipsis.count ? String(function.prefix(left - ellipsis.count)) + ellipsis : String(function.prefix(max(0, left)))
        }
        return FittedFrame(marker: left >= 0 ? marker : String(marker.prefix(width)), function: function, location: "", detail: "")
    }
}
