#if canImport(Glibc)
import Glibc
#endif

/// Where a fuzzing process keeps its log: per process, so parallel jobs (`-jobs=N`) do not
/// share one; removed at exit.
enum FuzzFiles {
    static let directory: String = {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        return "\(base)/ranktop-fuzz-\(getpid())"
    }()

    static let logPath: String = {
        mkdir(directory, 0o700)
        atexit { FuzzFiles.remove() }
        return "\(directory)/ingest.jsonl"
    }()

    /// Never bound: `start()` is not called. The configuration only needs an address.
    static var socketPath: String { "\(directory)/unused.sock" }

    private static func remove() {
        unlink(logPath)
        rmdir(directory)
    }
}
