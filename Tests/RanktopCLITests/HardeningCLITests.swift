import Foundation
import RanktopTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 8, parts A.4 and D.17, and the run directory of B.8: what a new user typed, as a process.
@Suite struct HardeningCLITests {
    let scratch: String

    init() throws {
        scratch = NSTemporaryDirectory() + "ranktop-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    @Test(arguments: [["report"], ["report", "--json"], ["export"], ["replay"]])
    func test_aFileThatIsNotAnEventLogIsRefusedClearly(command: [String]) async throws {
        let result = try await ProcessRunner.ranktop(command + ["/bin/ls"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("'/bin/ls' is not a ranktop event log"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func test_aMostlyRejectedLogIsReportedWithAWarning() async throws {
        let path = scratch + "/mostly.jsonl"
        let hello = #"{"kind":"hello","rank":0,"ts":1764374400,"seq":0,"v":1,"run":"r","world":1,"local_rank":0,"local_world":1,"node":"n","pid":1,"runtime":"x"}"#
        try ([hello] + Array(repeating: "garbage", count: 9)).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await ProcessRunner.ranktop(["report", path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("90% of the lines"), "\(result.stderr)")
    }

    @Test func test_anEmptyLogIsStillALog() async throws {
        let path = scratch + "/empty.jsonl"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        let result = try await ProcessRunner.ranktop(["report", path])
        #expect(result.status == 0)
        #expect(result.stdout.contains("no events from any rank"))
    }

    @Test(arguments: [
        (["demo", "--ranks", "-3"], "--ranks must be between 1 and 1024"),
        (["attach", "/tmp/x.sock"], "write a socket path as unix:/tmp/x.sock"),
        (["trigger", "nowhere"], "use unix:/path.sock or tcp://host:port"),
        (["serve", "--listen", "tcp://host-without-port"], "needs a host and a port"),
    ])
    func test_usageErrorsExit64WithAReason(arguments: [String], message: String) async throws {
        let result = try await ProcessRunner.ranktop(arguments)
        #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stderr.contains("shm://"), "the help lists no shm:// yet")
    }

    @Test func test_aLogThatIsADirectoryIsSaidSo() async throws {
        let result = try await ProcessRunner.ranktop(["demo", "--headless", "--log", scratch])
        #expect(result.status == 64)
        #expect(result.stderr.contains("is a directory"), "\(result.stderr)")
        #expect(!result.stderr.contains("already holds a run"))
    }

    @Test func test_aSocketInAMissingDirectoryIsRefusedNotCreated() async throws {
        let missing = scratch + "/no/such/dir"
        let result = try await ProcessRunner.ranktop(["serve", "--listen", "unix:\(missing)/x.sock"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("does not exist"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch + "/no"))
    }

    @Test func test_anUnknownHostIsSaidInWords() async throws {
        let result = try await ProcessRunner.ranktop(["serve", "--listen", "tcp://no-such-host.invalid:0"], environment: ["RANKTOP_TOKEN": "t"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no such host 'no-such-host.invalid'"), "\(result.stderr)")
        #expect(!result.stderr.contains("SocketAddressError") && !result.stderr.contains("descriptor:"))
    }

    @Test func test_theRunDirectoryIsNeverFollowedThroughASymlink() async throws {
        let victim = scratch + "/victim"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let runtime = scratch + "/runtime"
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: runtime + "/ranktop", withDestinationPath: victim)
        let result = try await ProcessRunner.ranktop(
            ["demo", "--headless", "--ranks", "1", "--steps", "1", "--log", scratch + "/d.jsonl"],
            environment: ["XDG_RUNTIME_DIR": runtime]
        )
        #expect(result.status != 0)
        #expect(result.stderr.contains("is a symbolic link"), "\(result.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: victim)[.posixPermissions] as? Int
        #expect(mode == 0o755, "the victim directory's mode is untouched")
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim).isEmpty, "nothing was put there")
    }

    @Test func test_aRunDirectoryOpenToOthersIsClosedThroughItsDescriptor() async throws {
        let runtime = scratch + "/open"
        try FileManager.default.createDirectory(atPath: runtime + "/ranktop", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        chmod(runtime + "/ranktop", 0o777)
        let result = try await ProcessRunner.ranktop(
            ["demo", "--headless", "--ranks", "1", "--steps", "2", "--log", scratch + "/o.jsonl"],
            environment: ["XDG_RUNTIME_DIR": runtime]
        )
        #expect(result.status == 0, "\(result.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: runtime + "/ranktop")[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let logMode = try FileManager.default.attributesOfItem(atPath: scratch + "/o.jsonl")[.posixPermissions] as? Int
        #expect(logMode == 0o600, "logs are created 0600")
    }
}
