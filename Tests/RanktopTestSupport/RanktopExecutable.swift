import Foundation

/// The built `ranktop` executable, for tests that run it as a user would: `$RANKTOP_BIN` (the one
/// variable every test reads), else beside the test bundle in the build folder, else .build/debug.
public enum RanktopExecutable {
    public static var path: String {
        if let explicit = ProcessInfo.processInfo.environment["RANKTOP_BIN"], !explicit.isEmpty { return explicit }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("ranktop")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/ranktop").path
    }

    public static var url: URL { URL(fileURLWithPath: path) }
}
