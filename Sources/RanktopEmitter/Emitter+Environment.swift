import Atomics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials
import RanktopProtocol

extension Emitter {
    /// The emitter `RANKTOP_ADDR` asks for, or nil: unset means no emitter at all (zero cost).
    /// An address that cannot be used (malformed, a segment that cannot be made) is
    /// reported once on stderr and also yields nil: a monitoring problem never stops training.
    /// `RANKTOP_TOKEN`, when set, goes out as `hello.token`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        rank: Int, hello: Hello, options: EmitterOptions = EmitterOptions(),
        onControl: @escaping @Sendable (ControlLine) -> Void = { _ in }
    ) -> Emitter? {
        guard let text = environment["RANKTOP_ADDR"], !text.isEmpty else { return nil }
        let address: Address
        do {
            address = try Address(parsing: text)
        } catch {
            warnOnce("RANKTOP_ADDR: \(error.description); this rank's events are not sent")
            return nil
        }
        var hello = hello
        if let token = environment["RANKTOP_TOKEN"], !token.isEmpty { hello.token = token }
        do {
            return try Emitter(address: address, rank: rank, hello: hello, options: options, onControl: onControl)
        } catch {
            warnOnce("cannot start the event emitter: \(error.description); this rank's events are not sent")
            return nil
        }
    }

    private static let warned = ManagedAtomic<Bool>(false)

    private static func warnOnce(_ message: String) {
        guard !warned.exchange(true, ordering: .relaxed) else { return }
        var line = Array("ranktop: \(message)\n".utf8)
        _ = line.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
