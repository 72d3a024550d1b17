import RanktopModel
import RanktopReport
import RanktopProtocol
import RanktopCollector
#if canImport(Glibc)
import Glibc
#endif

/// Every reader of the log the collector wrote: `report` (text and JSON), `export` (the Chrome
/// trace), the replay dashboard, and a viewer's follower.
enum LogReaders {
    static func readEverything(path: String, collector: Collector) {
        var reportModel = RunModel(limits: .report)
        // The dashboard's model keeps what the live one keeps.
        var dashboardModel = RunModel(limits: .live)
        var trace = ChromeTrace()
        var summary = LogReadSummary()
        do {
            summary = try EventLogReader.read(path: path) { event in
                if case let .hello(hello) = event.body, hello.token != nil {
                    fatalError("a hello of rank \(event.rank) reached the log with its token")
                }
                reportModel.apply(event)
                dashboardModel.apply(event)
                for value in trace.convert(event) { _ = value.serialized }
            }
        } catch {
            fatalError("the collector's own log cannot be read: \(error)")
        }
        for value in trace.finish() { _ = value.serialized }
        _ = try? EventLogReader.sniff(path: path)
        let report = RunReport(model: reportModel, read: summary)
        _ = report.text
        _ = report.json.serialized
        DashboardRenders.renderEveryView(of: dashboardModel)
        checkFollower(of: collector, path: path)
    }

    /// A viewer that joins after the end reads exactly the file, then finishes.
    private static func checkFollower(of collector: Collector, path: String) {
        let tail = collector.followLog()
        let followed = blocking {
            var bytes = 0
            while let count = await tail.read({ $0.count }) { bytes += count }
            return bytes
        }
        var info = stat()
        guard stat(path, &info) == 0 else { fatalError("the log vanished: \(path)") }
        if followed != Int(info.st_size) {
            fatalError("a follower read \(followed) bytes of a \(info.st_size)-byte log")
        }
    }
}
