import Foundation
import RanktopTestSupport
import Testing

/// `ranktop trigger` and `ranktop stack` without an address: the run of yours running here; with
/// two, a refusal that lists both when stdin is not a terminal (a script must say which).
@Suite struct LocalRunPickerTests {
    @Test func oneRunIsFoundAndTwoAreListedNotGuessed() async throws {
        let first = try StackCommandTests.HeadlessDemo(ranks: 2)
        defer { first.stop() }
        _ = try await first.waitUntilRanksReport(2)
        let stack = try await ProcessRunner.ranktop(["stack", "--json"], environment: first.environment)
        #expect(stack.status == 0, "\(stack.stderr)")

        let second = try StackCommandTests.HeadlessDemo(ranks: 2, sharing: first)
        _ = try await second.waitUntilRanksReport(2)
        let refused = try await ProcessRunner.ranktop(["trigger"], environment: first.environment)
        #expect(refused.status == 64, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("2 runs are running here; give the address of one"), "\(refused.stderr)")
        let listed = refused.stderr.split(separator: "\n").filter { $0.contains("unix:") }
        #expect(listed.count == 2, "\(refused.stderr)")
        let both = try await ProcessRunner.ranktop(["stack"], environment: first.environment)
        #expect(both.status == 64, "\(both.stderr)")
        #expect(!((try? String(contentsOfFile: first.log, encoding: .utf8)) ?? "").contains(#""kind":"inject""#), "nothing was injected")

        second.stop(keepingRuntime: true)
        let trigger = try await ProcessRunner.ranktop(["trigger", "--reason", "picked by the test"], environment: first.environment)
        #expect(trigger.status == 0, "\(trigger.stderr)")
        let id = trigger.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("inj-"), "\(trigger.stdout)")
        try await waitUntil("the injection in the first run's log", timeout: 30) {
            ((try? String(contentsOfFile: first.log, encoding: .utf8)) ?? "").contains(id)
        }
    }
}
