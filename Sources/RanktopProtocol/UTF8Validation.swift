enum UTF8Validation {
    /// ASCII lines, the common case, are checked eight bytes at a time; anything else goes through
    /// the standard library's validating decoder.
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + 8 <= count {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < count, base[i] < 0x80 { i += 1 }
        if i == count { return true }
        return String(validating: UnsafeBufferPointer(start: base + i, count: count - i), as: UTF8.self) != nil
    }
}
