import RanktopCollector
import RanktopProtocol

/// A run whose collector died, found by its run file, for `serve --resume` and `attach`.
enum ResumableRun {
    /// The run file `name` gives (a run id, or a .run file's path), refused when its collector
    /// still runs: two collectors on one log would interleave it.
    static func find(_ name: String) throws -> RunFile {
        let path = name.hasSuffix(".run") || name.contains("/") ? name : RunFile.defaultPath(runID: name)
        guard let file = RunFile.read(path: path) else {
            let known = RunFile.all().map(\.file.run)
            let hint = known.isEmpty ? "no run of yours has one now" : "runs with one: \(known.prefix(8).joined(separator: ", "))"
            throw CLIFailure(message: "no run file for '\(name)' (\(path)); `ranktop ls` lists the runs that can be resumed (\(hint))")
        }
        if file.collectorAlive {
            let watch = file.listen.first.map { " `ranktop attach \($0)` watches it." } ?? ""
            throw CLIFailure(message: "the collector of run \(file.run) is still running (pid \(file.pid) on \(file.node)); nothing to resume.\(watch)")
        }
        return file
    }
}
