import Foundation
import RanktopEmitter
import RanktopProtocol

struct Measurement {
    var name: String
    var batchMedian: Double
    var batchP90: Double
    var singleMedian: Double
    var singleP99: Double
}

/// Times `call` (given a running counter) on this thread; see main.swift for the method.
func measure(_ name: String, _ call: (Int) -> Void) -> Measurement {
    var counter = 0
    for _ in 0..<2_000 {
        call(counter)
        counter += 1
    }
    usleep(20_000)
    var batches: [Double] = []
    for _ in 0..<300 {
        let start = MonotonicClock.now
        for _ in 0..<100 {
            call(counter)
            counter += 1
        }
        batches.append((MonotonicClock.now - start) / 100)
        usleep(2_000)
    }
    var singles: [Double] = []
    for _ in 0..<10_000 {
        let start = MonotonicClock.now
        call(counter)
        singles.append(MonotonicClock.now - start)
        counter += 1
        spin(microseconds: 50)
    }
    batches.sort()
    singles.sort()
    return Measurement(
        name: name, batchMedian: batches[batches.count / 2], batchP90: batches[batches.count * 9 / 10],
        singleMedian: singles[singles.count / 2], singleP99: singles[singles.count * 99 / 100])
}

/// Busy-waits, as a training step computes, without giving the core away.
func spin(microseconds: Double) {
    let until = MonotonicClock.now + microseconds / 1e6
    while MonotonicClock.now < until {}
}

func us(_ seconds: Double) -> String {
    String(format: "%.2f us", seconds * 1e6)
}

/// The collector stand-in: accepts connections and discards what they send.
enum Drain {
    static func run(path: String) -> Never {
        guard let listener = try? PosixSocket.listen(unixPath: path) else { exit(1) }
        while true {
            PosixSocket.poll(listener.fd, events: Int16(POLLIN), timeout: 1)
            guard let client = listener.accept() else { continue }
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    PosixSocket.poll(client.fd, events: Int16(POLLIN), timeout: 1)
                    if buffer.withUnsafeMutableBytes({ client.receive(into: $0) }) == .closed { break }
                }
                client.close()
            }
        }
    }
}
