/// Plain-text renders of a canvas, for golden tests and for reading a screen in a bug report.
extension Canvas {
    /// The characters, one line per row, trailing spaces trimmed.
    public func textLines() -> [String] {
        (0..<height).map { y in
            var line = String.UnicodeScalarView()
            for x in 0..<width where !self[x, y].isContinuation {
                line.append(self[x, y].scalar)
            }
            var text = String(line)
            while text.last == " " { text.removeLast() }
            return text
        }
    }

    public func text() -> String { textLines().joined(separator: "\n") }

    /// The characters, then a map of styles: each distinct style gets a letter (in order of first
    /// appearance) and a legend line, so a test can see what is bold, reversed or coloured.
    public func textWithStyles() -> String {
        var letters: [Style: Character] = [:]
        var legend: [String] = []
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        var styleRows: [String] = []
        for y in 0..<height {
            var row = ""
            for x in 0..<width where !self[x, y].isContinuation {
                let style = self[x, y].style
                if letters[style] == nil {
                    let letter = letters.count < alphabet.count ? alphabet[letters.count] : "*"
                    letters[style] = letter
                    legend.append("\(letter) = \(style.snapshotDescription)")
                }
                row.append(letters[style]!)
            }
            styleRows.append(row)
        }
        return text() + "\n-- styles --\n" + styleRows.joined(separator: "\n") + "\n-- legend --\n" + legend.joined(separator: "\n")
    }
}

extension Style {
    var snapshotDescription: String {
        var parts: [String] = []
        if fg != .terminalDefault { parts.append("fg=\(fg.snapshotDescription)") }
        if bg != .terminalDefault { parts.append("bg=\(bg.snapshotDescription)") }
        for (name, attribute) in TextAttributes.names where attributes.contains(attribute) { parts.append(name) }
        return parts.isEmpty ? "plain" : parts.joined(separator: " ")
    }
}

extension Color {
    var snapshotDescription: String {
        switch self {
        case .terminalDefault: "default"
        case let .indexed(i): "\(i)"
        case let .rgb(r, g, b): "#" + [r, g, b].map { hex2($0) }.joined()
        }
    }
}

func hex2(_ v: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(v >> 4)], digits[Int(v & 0xF)]])
}
