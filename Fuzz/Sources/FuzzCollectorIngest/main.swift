import RanktopProtocol
import RanktopTransport
#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry point: lines on several connections into one in-process collector (no
/// sockets), then every reader of the log it wrote. Nothing may crash, trap, hang or grow
/// without bound, and no hello may reach the log with its token.
///
/// The input is a script (see `IngestScript`): each line is one read on one connection.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCollectorIngest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let script = IngestScript(UnsafeBufferPointer(start: data, count: size))
    // A fresh log per input: the collector seeds its seq ledger from an existing one, which would
    // make each input depend on the ones before it.
    let path = FuzzFiles.logPath
    unlink(path)
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
    LogReaders.readEverything(path: path, collector: collector)
    return 0
}
