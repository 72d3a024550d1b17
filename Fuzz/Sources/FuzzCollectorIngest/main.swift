import RanktopProtocol
import RanktopCollector
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry point: lines on several connections into one in-process collector (no
/// sockets), then every reader of the log it wrote. Nothing may crash, trap, hang or grow
/// without bound, and no hello may reach the log with its token.
///
/// The input is a script (see `IngestScript`): each line is one read on one connection. It is
/// played twice on one log: the second time by a collector restarted over the first one's log,
/// cut short as a crash mid-write leaves it, which seeds its `seq` ledger from that log.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCollectorIngest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let script = IngestScript(input)
    // A fresh log per input: each input must not depend on the ones before it.
    let path = FuzzFiles.logPath
    unlink(path)
    _ = play(script, path: path)
    var info = stat()
    if stat(path, &info) == 0 {
        truncate(path, max(0, info.st_size - off_t((input.last ?? 0) % 32)))
    }
    let restarted = play(script, path: path)
    LogReaders.readEverything(path: path, collector: restarted)
    return 0
}

private func play(_ script: IngestScript, path: String) -> Collector {
    let collector: Collector
    do {
        collector = try Collector(configuration: CollectorConfiguration(
            listen: [.unix(path: FuzzFiles.socketPath)], logPath: path, runID: "r-fuzz",
            token: IngestDriver.token, flushInterval: 3600
        ))
    } catch {
        fatalError("the collector refused a valid configuration: \(error)")
    }
    var driver = IngestDriver(collector: collector)
    for step in script.steps { driver.perform(step) }
    driver.endAll()
    // Stopping is what flushes and closes the log; no transport was started, so it only does that
    // (and wakes any injection still waiting for a rank).
    blocking { await collector.stop() }
    driver.awaitBackgroundRequests()
    driver.checkControlLines()
    return collector
}
