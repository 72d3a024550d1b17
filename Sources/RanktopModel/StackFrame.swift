/// One frame of a `stack` event, taken apart so it reads well: the function and `file:line`
/// first, library paths shortened, the user's own code told apart from libraries.
///
/// Two runtimes write frames, and both are parsed here:
/// - the Python adapter (`_control.training_stack()`): `path:line in function` or
///   `path:line in function: source code`;
/// - the Swift runtime (`ActivityStack`): `function(arguments) at Module/File.swift:line`,
///   optionally followed by `, waiting 3.2 s`, or a label of the program's own (`train loop`).
/// Anything else is kept whole as the function, so no frame is ever lost to parsing.
public struct StackFrame: Sendable, Equatable, Hashable {
    /// The function (Python) or primitive call (Swift), or the whole frame when unparsed.
    public var function: String
    /// The file, shortened: `torch/nn/modules/module.py` for a file in site-packages.
    public var file: String?
    public var line: Int?
    /// The source line (Python) the frame is at.
    public var code: String?
    /// What changes from one request to the next (`waiting 3.2 s`): shown, but left out when
    /// stacks are compared, so that ranks waiting in the same place group together.
    public var note: String?
    /// The program's own code, not a library, the standard library or ranktop's adapter.
    public var isUser: Bool

    public init(function: String, file: String? = nil, line: Int? = nil, code: String? = nil, note: String? = nil, isUser: Bool) {
        self.function = function
        self.file = file
        self.line = line
        self.code = code
        self.note = note
        self.isUser = isUser
    }

    /// `file:line`, when the frame has a file.
    public var location: String? {
        guard let file else { return nil }
        return line.map { "\(file):\($0)" } ?? file
    }

    /// The frame without what changes between requests: what identical stacks are compared by.
    public var identity: StackFrame {
        var copy = self
        copy.note = nil
        return copy
    }

    public init(parsing text: String) {
        if let python = StackFrame.python(text) {
            self = python
        } else if let swift = StackFrame.swift(text) {
            self = swift
        } else {
            // A label of the program's own (`train loop`), or a runtime this parser does not know.
            self.init(function: text, isUser: true)
        }
    }

    public static func parse(_ frames: [String]) -> [StackFrame] {
        frames.map(StackFrame.init(parsing:))
    }

    // MARK: Python: `path:line in function[: code]`

    private static func python(_ text: String) -> StackFrame? {
        // The first ` in ` preceded by `:digits` ends the path (a path may hold ` in ` itself).
        for separator in text.ranges(of: " in ") {
            let head = text[..<separator.lowerBound]
            guard let colon = head.lastIndex(of: ":") else { continue }
            let digits = head[head.index(after: colon)...]
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let line = Int(digits) else { continue }
            let path = String(head[..<colon])
            let rest = text[separator.upperBound...]
            let function: Substring
            var code: String?
            if let split = rest.firstRange(of: ": ") {
                function = rest[..<split.lowerBound]
                code = String(rest[split.upperBound...])
            } else {
                function = rest
            }
            guard !path.isEmpty, !function.isEmpty else { return nil }
            let (file, isUser) = shortenPython(path)
            return StackFrame(function: String(function), file: file, line: line, code: code, isUser: isUser)
        }
        return nil
    }

    /// A library file is shown from its package on; the standard library by its name. Only the
    /// user's own files keep their whole path.
    static func shortenPython(_ path: String) -> (file: String, isUser: Bool) {
        for marker in ["/site-packages/", "/dist-packages/"] {
            if let range = path.ranges(of: marker).last {
                let inside = String(path[range.upperBound...])
                // ranktop's adapter installed as a package is ranktop's, not the user's.
                return (inside, false)
            }
        }
        // Python's own frozen modules are not the user's; `<string>` and `<stdin>` (python -c,
        // a pasted script) are.
        if path.hasPrefix("<frozen") { return (path, false) }
        if path.hasPrefix("<") { return (path, true) }
        if let stdlib = pythonLibrary(in: path) { return (stdlib, false) }
        if isRanktopAdapter(path) {
            let start = path.ranges(of: "/ranktop/").last.map { path.index(after: $0.lowerBound) } ?? path.startIndex
            return (String(path[start...]), false)
        }
        return (path, true)
    }

    /// `threading.py` for `/usr/lib/python3.11/threading.py`: the part after `lib/pythonX.Y/`.
    private static func pythonLibrary(in path: String) -> String? {
        for range in path.ranges(of: "lib/python") {
            let after = path[range.upperBound...]
            guard let slash = after.firstIndex(of: "/") else { return nil }
            let version = after[..<slash]
            guard !version.isEmpty, version.allSatisfy({ $0.isASCIIDigit || $0 == "." }) else { continue }
            return String(after[after.index(after: slash)...])
        }
        return nil
    }

    /// The adapter's own modules (`ranktop/_wiring.py`), wherever it was put on the path.
    private static func isRanktopAdapter(_ path: String) -> Bool {
        guard let range = path.ranges(of: "/ranktop/").last else { return path.hasPrefix("ranktop/_") }
        let name = path[range.upperBound...]
        return name.hasPrefix("_") && name.hasSuffix(".py") && !name.contains("/")
    }

    // MARK: Swift runtime: `function(args) at File.swift:line[, waiting 3.2 s]`

    private static func swift(_ text: String) -> StackFrame? {
        guard let at = text.ranges(of: " at ").last else { return nil }
        let function = String(text[..<at.lowerBound])
        var site = Substring(text[at.upperBound...])
        var note: String?
        if let comma = site.firstRange(of: ", ") {
            note = String(site[comma.upperBound...])
            site = site[..<comma.lowerBound]
        }
        guard let colon = site.lastIndex(of: ":") else { return nil }
        let digits = site[site.index(after: colon)...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let line = Int(digits), !function.isEmpty else { return nil }
        // The site is the program's call of a ranktop primitive: the user's code.
        return StackFrame(function: function, file: String(site[..<colon]), line: line, note: note, isUser: true)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
