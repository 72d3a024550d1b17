// swift-tools-version:5.3
import PackageDescription

// A separate package so that libFuzzer's flags never touch the main build. Tools version 5.3 and
// a `main.swift` built with `-parse-as-library`, as swift-protobuf's FuzzTesting does: libFuzzer
// supplies `main`, and this older manifest format does not rename the entry point. See
// docs/fuzzing.md.

/// The main package's products a fuzz target links, by name.
func ranktop(_ names: String...) -> [Target.Dependency] {
    names.map { .product(name: $0, package: "ranktop") }
}

let package = Package(
    name: "ranktop-fuzz",
    dependencies: [.package(name: "ranktop", path: "..")],
    targets: [
        // Bytes as a log reader sees them: decoder, reducer, report.
        .target(
            name: "FuzzDecodeReduce",
            dependencies: ranktop("RanktopProtocol", "RanktopModel", "RanktopReport")
        ),
        // Lines on many connections through the collector, then every reader of its log.
        .target(
            name: "FuzzCollectorIngest",
            dependencies: ranktop("RanktopProtocol", "RanktopModel", "RanktopReport", "RanktopCollector", "RanktopUI")
        ),
    ],
    // This manifest format predates the Swift 6 setting; the main package is in Swift 6 mode, so
    // the fuzz targets are too.
    swiftLanguageVersions: [.version("6")]
)
