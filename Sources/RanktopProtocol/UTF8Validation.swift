enum UTF8Validation {
    /// ASCII lines, the common case, are checked 32 bytes (then eight) at a time; anything else
    /// goes through the standard library's validating decoder.
    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var i = 0
        let raw = UnsafeRawPointer(base)
        while i + 32 <= count {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
                | raw.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self) | raw.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
            if word & 0x8080_8080_8080_8080 != 0 { break }
            i += 32
        }
        while i + 8 <= count {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            i += 8
        }
        while i < count, base[i] < 0x80 { i += 1 }
        if i == count { return true }
        return String(validating: UnsafeBufferPointer(start: base + i, count: count - i), as: UTF8.self) != nil
    }
}
