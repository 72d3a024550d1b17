import Foundation
import Testing

/// Golden text files: a render is compared with `Goldens/<name>.txt`. With
/// `RANKTOP_RECORD_GOLDENS=1` the render is written to the source tree instead (then review the
/// diff and commit it).
enum Golden {
    static var recording: Bool { ProcessInfo.processInfo.environment["RANKTOP_RECORD_GOLDENS"] == "1" }

    static func sourceDirectory(file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Goldens")
    }

    static func check(_ actual: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let text = actual.hasSuffix("\n") ? actual : actual + "\n"
        if recording {
            let url = sourceDirectory().appendingPathComponent(name + ".txt")
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        guard let url = Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Goldens"),
              let expected = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("no golden file Goldens/\(name).txt; record it with RANKTOP_RECORD_GOLDENS=1 swift test --filter RanktopUITests", sourceLocation: sourceLocation)
            return
        }
        if expected != text {
            Issue.record("render differs from Goldens/\(name).txt (re-record with RANKTOP_RECORD_GOLDENS=1 after checking the change):\n\(firstDifference(expected, text))", sourceLocation: sourceLocation)
        }
    }

    private static func firstDifference(_ expected: String, _ actual: String) -> String {
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(e.count, a.count) {
            let el = i < e.count ? String(e[i]) : "<none>"
            let al = i < a.count ? String(a[i]) : "<none>"
            if el != al { return "line \(i + 1)\n  expected: \(el)\n  actual:   \(al)" }
        }
        return "(same lines, different ending)"
    }
}
