// Benchmarks of the live pipeline (docs/benchmarks.md, "Live pipeline"). Not a test.
//
//   swift build -c release --product ranktop-live-bench
//   .build/release/ranktop-live-bench ingest [--connections 64] [--events 2000000] [--external SOCKET]
//   .build/release/ranktop-live-bench latency [--events 20000] [--rate 2000] [--raw]
//   .build/release/ranktop-live-bench follow [--events 500000]
//   .build/release/ranktop-live-bench shm-drain [--ranks 64] [--per-rank 8192]
//   .build/release/ranktop-live-bench shm-scale [--ranks 16384] [--nodes 64] [--writers 4] [--seconds 10] [--rates 50000,100000,...]
//   .build/release/ranktop-live-bench replay-seek LOG [--seeks 200]
//   ranktop launch -n 2 -- .build/debug/ranktop-live-bench flood-rank [--seconds 3] [--rate 0]
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, default value: Int) -> Int {
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count, let parsed = Int(arguments[index + 1]) else {
        return value
    }
    return parsed
}

switch arguments.first {
case "ingest":
    let external = arguments.firstIndex(of: "--external").flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil }
    try await IngestBenchmark.run(connections: option("connections", default: 64), events: option("events", default: 2_000_000), external: external)
case "latency":
    try await LatencyBenchmark.run(events: option("events", default: 20_000), rate: option("rate", default: 2_000), raw: arguments.contains("--raw"))
case "follow":
    try await FollowBenchmark.run(events: option("events", default: 500_000))
case "shm-drain":
    try await ShmDrainBenchmark.run(ranks: option("ranks", default: 64), perRank: option("per-rank", default: 8192))
case "shm-scale":
    try await ShmScaleBenchmark.run(arguments: arguments)
case "shm-writer":
    ShmScaleBenchmark.writer(arguments: arguments)
case "replay-seek":
    guard arguments.count > 1 else {
        print("usage: ranktop-live-bench replay-seek LOG [--seeks N]")
        exit(2)
    }
    try ReplaySeekBenchmark.run(path: arguments[1], seeks: option("seeks", default: 200))
case "flood-rank":
    FloodRank.run(seconds: Double(option("seconds", default: 3)), rate: option("rate", default: 0))
default:
    print("usage: ranktop-live-bench ingest [--connections N] [--events N] [--external SOCKET] | latency [--events N] [--rate N] [--raw] | follow [--events N] | flood-rank [--seconds N] [--rate N]")
    exit(2)
}
