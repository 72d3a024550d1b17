// swift-tools-version: 6.1
import PackageDescription

// Dependency arrows point one way: ranktop (CLI) -> UI / Terminal / Collector -> Model -> Protocol,
// and the Ranktop runtime -> Emitter -> Protocol: what runs inside a training process never links
// NIO. docs/architecture.md draws the graph.
/// Locks, atomics and a deque: what both sides of a connection use, neither of them NIO's event loops.
let concurrency: [Target.Dependency] = [
    .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
    .product(name: "Atomics", package: "swift-atomics"),
    .product(name: "DequeModule", package: "swift-collections"),
]

let package = Package(
    name: "ranktop",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ranktop", targets: ["ranktop"]),
        .library(name: "Ranktop", targets: ["Ranktop"]),
        .library(name: "RanktopProtocol", targets: ["RanktopProtocol"]),
        .library(name: "RanktopModel", targets: ["RanktopModel"]),
        .library(name: "RanktopReport", targets: ["RanktopReport"]),
        .library(name: "RanktopEmitter", targets: ["RanktopEmitter"]),
        .library(name: "RanktopCollector", targets: ["RanktopCollector"]),
        .library(name: "RanktopUI", targets: ["RanktopUI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Events, the JSON Lines codec, the event log, addresses, the shared-memory layout (its
        // atomics on mapped memory are swift-atomics'). FoundationEssentials only.
        .target(name: "RanktopProtocol", dependencies: [.product(name: "Atomics", package: "swift-atomics")]),
        // The one reducer: events in, run state out. Pure; no I/O.
        .target(
            name: "RanktopModel",
            dependencies: ["RanktopProtocol", .product(name: "DequeModule", package: "swift-collections")]
        ),
        // What is made of a log for people and tools: `report` (text, JSON) and the Chrome trace,
        // both from the model, so they follow its rules.
        .target(name: "RanktopReport", dependencies: ["RanktopModel", "RanktopProtocol"]),
        // The in-process emitter: runs inside training, so plain POSIX sockets and a thread, no NIO.
        .target(
            name: "RanktopEmitter",
            dependencies: ["RanktopProtocol"] + concurrency
        ),
        // The collector (NIO): ingest, the event log, viewers, control; and every run source.
        .target(
            name: "RanktopCollector",
            // RanktopEmitter for its POSIX sockets: a relay is one thread that drains rings into
            // one connection, no event loop needed.
            dependencies: ["RanktopProtocol", "RanktopModel", "RanktopEmitter"] + concurrency + [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The runtime API for Swift training programs (barriers, main-first, triggers).
        .target(
            name: "Ranktop",
            dependencies: [
                "RanktopProtocol", "RanktopEmitter",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
            ]
        ),
        // Canvas, themes, widgets, layout, and the app loop behind a `Screen`. Never touches the
        // terminal.
        .target(
            name: "RanktopUI",
            dependencies: [
                "RanktopModel", "RanktopProtocol",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // One libm symbol defined so the release binary needs glibc 2.34, not 2.35 (hypotf.c).
        .target(name: "CGlibcBaseline", linkerSettings: [.linkedLibrary("m")]),
        // Macros and globals of ncurses that Swift cannot import.
        .target(name: "CNcursesShim", linkerSettings: [.linkedLibrary("ncursesw")]),
        // The ncurses backend: the `Screen` that blits a canvas and reads keys, the wait in poll(),
        // signals; it drives RanktopUI's app loop.
        .target(name: "RanktopTerminal", dependencies: ["CNcursesShim", "RanktopUI", "RanktopProtocol"]),
        // Deterministic synthetic runs (events) for the dashboard's snapshot tests and benchmark.
        .target(name: "RanktopSynthetic", dependencies: ["RanktopProtocol"]),
        // Frame build time of the dashboard (docs/benchmarks.md, section Dashboard).
        .executableTarget(name: "ranktop-ui-bench", dependencies: ["RanktopUI", "RanktopModel", "RanktopProtocol", "RanktopSynthetic"]),
        .executableTarget(
            name: "ranktop",
            dependencies: [
                "RanktopProtocol", "RanktopModel", "RanktopReport", "RanktopCollector", "RanktopEmitter", "Ranktop", "RanktopUI", "RanktopTerminal",
                "CGlibcBaseline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // What the test targets share: the binary's location, waiting on a condition, running a
        // process.
        .target(name: "RanktopTestSupport", dependencies: ["RanktopCollector"], path: "Tests/RanktopTestSupport"),
        .testTarget(name: "RanktopProtocolTests", dependencies: ["RanktopProtocol"]),
        // Golden logs live in Fixtures/ and are read by path, not bundled.
        .testTarget(name: "RanktopModelTests", dependencies: ["RanktopModel", "RanktopReport", "RanktopProtocol"], exclude: ["Fixtures"]),
        // The emitter and the Swift runtime against a stand-in Unix-socket listener, and real
        // `ranktop demo-rank` processes (the executable must be built: `swift build`).
        .testTarget(
            name: "RanktopRuntimeTests",
            dependencies: [
                "Ranktop", "RanktopEmitter", "RanktopProtocol", "RanktopTestSupport",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // Spawns the built `ranktop` binary as a real process.
        .testTarget(name: "RanktopCLITests", dependencies: ["RanktopProtocol", "RanktopTestSupport"]),
        // The collector in-process, driven by real socket clients.
        .testTarget(name: "RanktopCollectorTests", dependencies: ["RanktopCollector", "RanktopEmitter", "RanktopProtocol", "RanktopModel", "RanktopReport", "RanktopSynthetic", "RanktopTestSupport"]),
        // The live pipeline end to end: spawns the built `ranktop` and real rank processes.
        .testTarget(name: "RanktopLiveTests", dependencies: ["RanktopProtocol", "RanktopModel", "RanktopTestSupport"]),
        // Emit cost on the caller's thread (docs/benchmarks.md, "Emit cost"); not a test.
        .executableTarget(name: "ranktop-emit-bench", dependencies: ["Ranktop", "RanktopEmitter", "RanktopProtocol"]),
        // Collector ingest and emit-to-model latency (docs/benchmarks.md); not a test.
        .executableTarget(
            name: "ranktop-live-bench",
            dependencies: ["RanktopCollector", "RanktopEmitter", "RanktopProtocol", "RanktopModel"]
        ),
        // Golden text renders of the dashboard; RANKTOP_RECORD_GOLDENS=1 re-records them.
        // Replay: the timeline's seeks against a straight fold, and the live and replay paths
        // rendering one log to the same canvases.
        .testTarget(
            name: "RanktopReplayTests",
            dependencies: ["RanktopCollector", "RanktopUI", "RanktopModel", "RanktopProtocol", "RanktopSynthetic", "RanktopTestSupport"]
        ),
        .testTarget(
            name: "RanktopUITests",
            dependencies: ["RanktopUI", "RanktopModel", "RanktopProtocol", "RanktopSynthetic"],
            resources: [.copy("Goldens"), .copy("DemoLogs")]
        ),
    ]
)
