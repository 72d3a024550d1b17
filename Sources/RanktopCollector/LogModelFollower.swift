import NIOConcurrencyHelpers
import RanktopModel
import RanktopProtocol

/// The run model folded from the log by a follower of its own, off the ingest path: a `serve`
/// that captures stacks needs the model once a second, and folding it under the log's lock on
/// every read cut a debug build's ingest to a third (2 flooding ranks, 5 s: 17.6 MB logged
/// without the model, 5.5 MB with it inline). The follower reads the log as a viewer does, but at most
/// every `readInterval`, so the model is that far behind, which a once-a-second policy does not
/// notice.
final class LogModelFollower: Sendable {
    /// Its users (stack capture, hooks, metrics) read the model once a second. At a viewer's 20 ms
    /// the follower woke the collector 50 times a second (a timer, a flush of the log, a read, a
    /// fold), about half of the collector's CPU at 1,000 events/s.
    static let readInterval: Duration = .milliseconds(250)

    private let box = NIOLockedValueBox(RunModel(limits: .report))
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    /// Starts following; the task ends when the log closes.
    func start(_ tail: LogTail) {
        let box = box
        task.withLockedValue { task in
            guard task == nil else { return }
            task = Task {
                while let batch = await tail.nextBatch() {
                    box.withLockedValue { model in for event in batch { model.apply(event) } }
                }
            }
        }
    }

    /// The run as far as the follower has read (a copy; copy on write makes it cheap).
    var model: RunModel { box.withLockedValue { $0 } }

    /// Waits until the follower has read the whole log (after the log closed).
    func finish() async {
        await task.withLockedValue { $0 }?.value
    }
}
