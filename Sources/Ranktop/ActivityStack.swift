#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import NIOConcurrencyHelpers
import RanktopEmitter
import RanktopProtocol

/// A lightweight "where am I" stack of the training thread, for answering stack requests.
///
/// Swift cannot walk another thread's stack portably, and a stack request must be answered from a
/// helper thread while the training thread is blocked in a collective. So the runtime keeps this
/// stack itself: every primitive pushes a frame ("waitForEveryone(name: "save") at
/// Train.swift:88") while it runs, and programs may push their own with `withActivity`. It shows
/// where the rank is in ranktop terms, not the program's full call stack.
final class ActivityStack: Sendable {
    /// What a frame says; primitives' frames are formatted only when someone asks, so pushing one
    /// costs no string building on the training thread.
    enum Label: Sendable {
        case text(String)
        /// `function(name: "name") at site`, or `function() #ordinal at site` without a name.
        case primitive(function: StaticString, name: String?, ordinal: Int?, site: String)
    }

    private struct Frame {
        var label: Label
        var since: Double
        /// Blocking primitives say how long they have waited so far.
        var showsWait: Bool
    }

    private let frames = NIOLockedValueBox<[Frame]>([])

    func push(_ label: Label, showsWait: Bool = false) {
        let frame = Frame(label: label, since: MonotonicClock.now, showsWait: showsWait)
        frames.withLockedValue { $0.append(frame) }
    }

    func pop() {
        frames.withLockedValue { _ = $0.popLast() }
    }

    /// Frames outermost first, innermost last, as the protocol's `stack` event wants.
    func snapshot() -> [String] {
        let now = MonotonicClock.now
        let frames = frames.withLockedValue { $0 }
        guard !frames.isEmpty else { return ["(not inside a ranktop primitive)"] }
        return frames.map { frame in
            let text = ActivityStack.describe(frame.label)
            return frame.showsWait ? "\(text), waiting \(formatElapsed(now - frame.since))" : text
        }
    }

    private static func describe(_ label: Label) -> String {
        switch label {
        case let .text(text):
            return text
        case let .primitive(function, name, ordinal, site):
            let arguments = name.map { "name: \(quoted($0))" } ?? ""
            let number = ordinal.map { " #\($0)" } ?? ""
            return "\(function)(\(arguments))\(number) at \(site)"
        }
    }

    private func formatElapsed(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) s"
    }
}

private func quoted(_ name: String) -> String {
    "\"" + name.replacing("\"", with: "\\\"") + "\""
}
