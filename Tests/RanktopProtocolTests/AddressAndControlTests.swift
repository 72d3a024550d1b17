import Testing
@testable import RanktopProtocol

@Suite struct AddressAndControlTests {
    @Test func addressesParseInEveryDocumentedForm() throws {
        #expect(try Address(parsing: "unix:/tmp/r.sock") == .unix(path: "/tmp/r.sock"))
        #expect(try Address(parsing: "unix:///tmp/r.sock") == .unix(path: "/tmp/r.sock"))
        #expect(try Address(parsing: "tcp://10.0.0.2:29600") == .tcp(host: "10.0.0.2", port: 29600))
        #expect(try Address(parsing: "tcp://[::1]:29600") == .tcp(host: "::1", port: 29600))
        #expect(try Address(parsing: "shm://run42") == .sharedMemory(name: "run42"))
        #expect(try Address(parsing: "tcp://127.0.0.1:1").isLoopback)
        #expect(try !Address(parsing: "tcp://0.0.0.0:1").isLoopback)
    }

    @Test(arguments: ["", "unix:relative.sock", "tcp://nohost", "tcp://:80", "tcp://h:99999", "http://x:1", "shm://"])
    func badAddressesAreRejectedWithAnExample(text: String) {
        #expect(throws: Address.ParseError.self) { try Address(parsing: text) }
    }

    @Test func controlLinesRoundTrip() {
        for control in [ControlLine.inject(id: "inj-1", reason: "stop \"now\""), .inject(id: "x", reason: nil), .stackRequest(id: "s-9")] {
            #expect(control.line.hasSuffix("\n"))
            #expect(ControlLine.parse(control.line) == control)
        }
        #expect(ControlLine.parse(#"{"kind":"inject","id":"a","reason":"r"}"#) == .inject(id: "a", reason: "r"))
        #expect(ControlLine.parse(#"{"kind":"mystery","id":"a"}"#) == nil)
        #expect(ControlLine.parse("garbage") == nil)
    }
}
