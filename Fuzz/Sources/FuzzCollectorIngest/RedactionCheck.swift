import RanktopProtocol

/// `FieldRedaction` is what keeps the run's token out of the log: whatever it returns must be an
/// object with no `token` member left, however the key was written.
enum RedactionCheck {
    static func check(_ line: UnsafeBufferPointer<UInt8>) {
        guard let redacted = FieldRedaction.removing("token", from: line) else { return }
        redacted.withUnsafeBufferPointer { kept in
            if FieldRedaction.removing("token", from: kept) != nil {
                fatalError("a token member survived redaction: \(String(decoding: kept, as: UTF8.self).debugDescription)")
            }
            if case let .object(members)? = JSONValue.parse(kept), members.contains(where: { $0.0 == "token" }) {
                fatalError("the redacted line still parses with a token: \(String(decoding: kept, as: UTF8.self).debugDescription)")
            }
        }
    }
}
