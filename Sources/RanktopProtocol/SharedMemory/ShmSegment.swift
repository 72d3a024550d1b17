import Atomics
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One run's shared-memory segment on this node, mapped: `/dev/shm/ranktop-NAME` (mode 0600).
///
/// Opening, creating and claiming take a POSIX record lock on byte 0 of the file (the Python
/// adapter takes the same one with `fcntl.lockf`); nothing after that does: writers and readers
/// meet only through the stamps and counters of docs/protocol.md.
public final class ShmSegment: @unchecked Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let name: String
    public let path: String
    public let base: UnsafeMutableRawPointer
    public let size: Int
    public let rankCapacity: Int
    public let ringSlots: Int
    let ranksOffset: Int
    let rankStride: Int
    private let fd: Int32

    private init(name: String, path: String, fd: Int32, base: UnsafeMutableRawPointer, size: Int) {
        self.name = name
        self.path = path
        self.fd = fd
        self.base = base
        self.size = size
        rankCapacity = Int(base.load(fromByteOffset: ShmLayout.Header.rankCapacity, as: UInt32.self))
        ringSlots = Int(base.load(fromByteOffset: ShmLayout.Header.ringSlots, as: UInt32.self))
        ranksOffset = Int(base.load(fromByteOffset: ShmLayout.Header.ranksOffset, as: UInt64.self))
        rankStride = Int(base.load(fromByteOffset: ShmLayout.Header.rankStride, as: UInt64.self))
    }

    deinit {
        munmap(base, size)
        close(fd)
    }

    // MARK: names

    /// `$RANKTOP_SHM_DIR`, else `/dev/shm`.
    public static var directory: String {
        if let dir = getenv("RANKTOP_SHM_DIR").map({ String(cString: $0) }), !dir.isEmpty { return dir }
        return "/dev/shm"
    }

    public static let filePrefix = "ranktop-"

    public static func path(name: String, directory: String = ShmSegment.directory) -> String {
        "\(directory)/\(filePrefix)\(name)"
    }

    /// Why `name` cannot name a segment, or nil.
    public static func problem(withName name: String) -> String? {
        if name.isEmpty { return "a segment name cannot be empty" }
        if name.utf8.count > ShmLayout.maxNameLength { return "a segment name has at most \(ShmLayout.maxNameLength) characters" }
        if !name.utf8.allSatisfy(isNameByte) { return "'\(name)': a segment name is letters, digits, '.', '_' and '-'" }
        if name == "." || name == ".." { return "'\(name)' cannot name a segment" }
        return nil
    }

    /// The segment name `shm://auto` stands for: the run id with every other character `_`.
    public static func autoName(run: String) -> String {
        let bytes = run.utf8.prefix(ShmLayout.maxNameLength).map { isNameByte($0) ? $0 : UInt8(ascii: "_") }
        let name = String(decoding: bytes, as: UTF8.self)
        return name.isEmpty || name == "." || name == ".." ? "run" : name
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    // MARK: opening

    /// Opens the segment, creating it (with this geometry) when it does not exist yet.
    public static func openOrCreate(
        name: String, rankCapacity: Int = ShmLayout.defaultRankCapacity, ringSlots: Int = ShmLayout.defaultRingSlots,
        directory: String = ShmSegment.directory
    ) throws(Failure) -> ShmSegment {
        if let problem = problem(withName: name) { throw Failure(problem) }
        let path = path(name: name, directory: directory)
        // The last rank of a run removes the file under the lock: one that opened it just before
        // would write into a deleted file, so it checks, holding the lock, that the path is
        // still its file, and opens again if not.
        for _ in 0..<8 {
            let fd = posixOpen(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Failure("cannot open \(path): \(String(cString: strerror(errno)))") }
            _ = fchmod(fd, 0o600)
            do {
                let current = try withFileLock(fd) { () throws(Failure) -> Bool in
                    var info = stat()
                    var named = stat()
                    guard fstat(fd, &info) == 0 else { throw Failure("cannot stat \(path): \(String(cString: strerror(errno)))") }
                    guard stat(path, &named) == 0, named.st_ino == info.st_ino, named.st_dev == info.st_dev else { return false }
                    // Too short, or never marked ready: its creator died while making it (under
                    // this same lock), so it is made again.
                    if Int(info.st_size) < ShmLayout.headerBytes || !isReady(fd: fd) {
                        try initialize(fd: fd, path: path, name: name, rankCapacity: rankCapacity, ringSlots: ringSlots)
                    }
                    return true
                }
                guard current else {
                    close(fd)
                    continue
                }
                return try map(fd: fd, name: name, path: path, writable: true)
            } catch {
                close(fd)
                throw error
            }
        }
        throw Failure("\(path) kept being removed while it was opened")
    }

    private static func isReady(fd: Int32) -> Bool {
        var layout: UInt32 = 0
        return pread(fd, &layout, 4, off_t(ShmLayout.Header.layout)) == 4 && layout == ShmLayout.version
    }

    /// Opens an existing segment. `writable` maps it for the control block too (a dashboard, a
    /// relay); a reader that only reads maps it read-only.
    public static func open(name: String, writable: Bool = true, directory: String = ShmSegment.directory) throws(Failure) -> ShmSegment {
        if let problem = problem(withName: name) { throw Failure(problem) }
        let path = path(name: name, directory: directory)
        let fd = posixOpen(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0)
        guard fd >= 0 else {
            if errno == ENOENT { throw Failure("no shared-memory segment \(path) (`ranktop ls` lists this host's)") }
            throw Failure("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        do {
            return try map(fd: fd, name: name, path: path, writable: writable)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Runs `body` holding the lock on byte 0 of the file (writers create and claim under it).
    public func withLock<T>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        try ShmSegment.withFileLock(fd, body)
    }

    private static func withFileLock<T>(_ fd: Int32, _ body: () throws(Failure) -> T) throws(Failure) -> T {
        var region = flock()
        region.l_type = Int16(F_WRLCK)
        region.l_whence = Int16(SEEK_SET)
        region.l_start = 0
        region.l_len = 1
        while fcntl(fd, F_SETLKW, &region) != 0 {
            guard errno == EINTR else { throw Failure("cannot lock the segment: \(String(cString: strerror(errno)))") }
        }
        defer {
            region.l_type = Int16(F_UNLCK)
            _ = fcntl(fd, F_SETLK, &region)
        }
        return try body()
    }

    private static func initialize(fd: Int32, path: String, name: String, rankCapacity: Int, ringSlots requested: Int) throws(Failure) {
        var slots = ShmLayout.minRingSlots
        while slots < min(max(requested, ShmLayout.minRingSlots), ShmLayout.maxRingSlots) { slots <<= 1 }
        let capacity = min(max(rankCapacity, 1), 1 << 16)
        let size = ShmLayout.fileSize(rankCapacity: capacity, ringSlots: slots)
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw Failure("cannot size \(path) to \(size) bytes: \(String(cString: strerror(errno)))")
        }
        guard let raw = mmap(nil, ShmLayout.headerBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), raw != MAP_FAILED else {
            throw Failure("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        defer { munmap(raw, ShmLayout.headerBytes) }
        for (i, byte) in ShmLayout.magic.enumerated() { raw.storeBytes(of: byte, toByteOffset: i, as: UInt8.self) }
        typealias H = ShmLayout.Header
        raw.storeBytes(of: UInt32(ShmLayout.headerBytes), toByteOffset: H.headerSize, as: UInt32.self)
        raw.storeBytes(of: UInt32(capacity), toByteOffset: H.rankCapacity, as: UInt32.self)
        raw.storeBytes(of: UInt32(slots), toByteOffset: H.ringSlots, as: UInt32.self)
        raw.storeBytes(of: UInt32(ShmLayout.slotBytes), toByteOffset: H.slotBytes, as: UInt32.self)
        raw.storeBytes(of: UInt32(ShmLayout.stateBytes), toByteOffset: H.stateBytes, as: UInt32.self)
        raw.storeBytes(of: UInt64(ShmLayout.ranksOffset()), toByteOffset: H.ranksOffset, as: UInt64.self)
        raw.storeBytes(of: UInt64(ShmLayout.rankStride(ringSlots: slots)), toByteOffset: H.rankStride, as: UInt64.self)
        raw.storeBytes(of: UInt32(ShmLayout.controlSlots), toByteOffset: H.controlSlots, as: UInt32.self)
        raw.storeBytes(of: UInt32(ShmLayout.controlSlotBytes), toByteOffset: H.controlSlotBytes, as: UInt32.self)
        raw.storeBytes(of: WallClock.now, toByteOffset: H.created, as: Double.self)
        raw.storeBytes(of: UInt32(getpid()), toByteOffset: H.creatorPid, as: UInt32.self)
        for (i, byte) in name.utf8.prefix(ShmLayout.nameBytes - 1).enumerated() {
            raw.storeBytes(of: byte, toByteOffset: H.name + i, as: UInt8.self)
        }
        UnsafeAtomic<UInt32>(at: (raw + H.layout).assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
            .store(ShmLayout.version, ordering: .releasing)
    }

    private static func map(fd: Int32, name: String, path: String, writable: Bool) throws(Failure) -> ShmSegment {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Failure("cannot stat \(path): \(String(cString: strerror(errno)))") }
        let size = Int(info.st_size)
        guard size >= ShmLayout.headerBytes else { throw Failure("\(path) is not a ranktop segment (too short)") }
        let protection = writable ? PROT_READ | PROT_WRITE : PROT_READ
        guard let raw = mmap(nil, size, protection, MAP_SHARED, fd, 0), raw != MAP_FAILED else {
            throw Failure("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        if let problem = checkHeader(raw, size: size) {
            munmap(raw, size)
            throw Failure("\(path) is not a ranktop segment of layout \(ShmLayout.version): \(problem)")
        }
        return ShmSegment(name: name, path: path, fd: fd, base: raw, size: size)
    }

    private static func checkHeader(_ raw: UnsafeMutableRawPointer, size: Int) -> String? {
        typealias H = ShmLayout.Header
        for (i, byte) in ShmLayout.magic.enumerated() where raw.load(fromByteOffset: i, as: UInt8.self) != byte {
            return "wrong magic"
        }
        let layout = UnsafeAtomic<UInt32>(at: (raw + H.layout).assumingMemoryBound(to: UInt32.AtomicRepresentation.self))
            .load(ordering: .acquiring)
        guard layout == ShmLayout.version else { return layout == 0 ? "not initialised" : "layout \(layout)" }
        let capacity = Int(raw.load(fromByteOffset: H.rankCapacity, as: UInt32.self))
        let slots = Int(raw.load(fromByteOffset: H.ringSlots, as: UInt32.self))
        guard raw.load(fromByteOffset: H.slotBytes, as: UInt32.self) == UInt32(ShmLayout.slotBytes),
              raw.load(fromByteOffset: H.stateBytes, as: UInt32.self) == UInt32(ShmLayout.stateBytes),
              raw.load(fromByteOffset: H.controlSlots, as: UInt32.self) == UInt32(ShmLayout.controlSlots),
              raw.load(fromByteOffset: H.controlSlotBytes, as: UInt32.self) == UInt32(ShmLayout.controlSlotBytes),
              capacity >= 1, slots >= 64, slots & (slots - 1) == 0,
              raw.load(fromByteOffset: H.ranksOffset, as: UInt64.self) == UInt64(ShmLayout.ranksOffset()),
              raw.load(fromByteOffset: H.rankStride, as: UInt64.self) == UInt64(ShmLayout.rankStride(ringSlots: slots))
        else { return "unexpected geometry" }
        guard ShmLayout.fileSize(rankCapacity: capacity, ringSlots: slots) <= size else { return "shorter than its geometry" }
        return nil
    }

    // MARK: contents

    public var created: Double { base.load(fromByteOffset: ShmLayout.Header.created, as: Double.self) }
    public var creatorPid: Int { Int(base.load(fromByteOffset: ShmLayout.Header.creatorPid, as: UInt32.self)) }

    public func area(_ index: Int) -> ShmRankArea {
        precondition(index >= 0 && index < rankCapacity)
        return ShmRankArea(segment: self, base: base + ranksOffset + index * rankStride, ringSlots: ringSlots, index: index)
    }

    public var areas: [ShmRankArea] { (0..<rankCapacity).map(area) }

    public var control: ShmControlBlock { ShmControlBlock(segment: self) }

    /// Removes the file (mappings stay valid until unmapped).
    public func unlink() { _ = posixUnlink(path) }

    /// Whether process `pid` runs (on this host, in this pid namespace). A zombie does not: a
    /// rank killed after its launcher is reparented, and in a container nobody may reap it.
    public static func processExists(_ pid: Int) -> Bool {
        guard pid > 0, pid <= Int(Int32.max) else { return false }
        guard kill(pid_t(pid), 0) == 0 || errno == EPERM else { return false }
        return !ProcessStat.isZombie(pid)
    }

    /// The names of this host's segments, sorted.
    public static func names(directory: String = ShmSegment.directory) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let fileName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard fileName.hasPrefix(filePrefix) else { continue }
            let name = String(fileName.dropFirst(filePrefix.count))
            if problem(withName: name) == nil { names.append(name) }
        }
        return names.sorted()
    }
}

// The type's own `open` and `unlink` would shadow the C functions inside it.
private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func posixUnlink(_ path: String) -> Int32 { unlink(path) }
