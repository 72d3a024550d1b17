#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RanktopProtocol

// Free functions under other names: inside `PosixSocket` the C names are shadowed by its methods.
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
private func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
private func systemAccept(_ fd: Int32) -> Int32 { accept(fd, nil, nil) }
private func systemSend(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    send(fd, base, count, Int32(MSG_NOSIGNAL))
    #else
    send(fd, base, count, 0)  // SO_NOSIGPIPE is set on the socket instead
    #endif
}
private func systemPoll(_ entries: UnsafeMutablePointer<pollfd>, _ count: Int, _ millis: Int32) -> Int32 {
    poll(entries, nfds_t(count), millis)
}
#if canImport(Glibc)
private let streamType = Int32(SOCK_STREAM.rawValue)
#else
private let streamType = SOCK_STREAM
#endif

/// A connected or listening socket file descriptor, non-blocking, close-on-exec, never raising
/// SIGPIPE. Plain POSIX rather than SwiftNIO on purpose: the emitter and the rendezvous live inside
/// a training process, where one dedicated thread blocked in `poll(2)` (or the training thread itself,
/// waiting in a collective) is all that is needed, without an event loop.
///
/// Owns its descriptor: `close()` releases it; the owner calls it exactly once.
public struct PosixSocket: Sendable {
    public let fd: Int32

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// The errno behind it, when there was one.
        public var code: Int32?

        init(_ description: String, code: Int32? = nil) {
            self.description = description
            self.code = code
        }
    }

    public init(adopting fd: Int32) {
        self.fd = fd
    }

    // MARK: connecting

    /// Connects to a Unix stream socket at `path`.
    public static func connect(unixPath path: String, timeout: Double) throws(Failure) -> PosixSocket {
        var address = try unixAddress(path)
        let socket = try open(family: AF_UNIX)
        let outcome = withUnsafeBytes(of: &address) { raw in
            socket.finishConnect(
                raw.baseAddress!.assumingMemoryBound(to: sockaddr.self),
                length: socklen_t(MemoryLayout<sockaddr_un>.size), timeout: timeout, describing: "unix:\(path)")
        }
        if case let .failure(error) = outcome {
            socket.close()
            throw error
        }
        return socket
    }

    /// Connects to `host:port` over TCP (IPv4 or IPv6, whichever the name resolves to first).
    public static func connect(host: String, port: Int, timeout: Double) throws(Failure) -> PosixSocket {
        let candidates = try resolve(host: host, port: port, passive: false)
        var lastError = Failure("cannot resolve '\(host)'")
        for candidate in candidates {
            let socket: PosixSocket
            do { socket = try open(family: candidate.family) } catch { lastError = error; continue }
            let outcome = candidate.withSockaddr { address, length in
                socket.finishConnect(address, length: length, timeout: timeout, describing: "\(host):\(port)")
            }
            switch outcome {
            case .success:
                var one: Int32 = 1
                _ = setsockopt(socket.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return socket
            case let .failure(error):
                socket.close()
                lastError = error
            }
        }
        throw lastError
    }

    // MARK: listening

    /// Listens on TCP `host:port` (an empty host or `0.0.0.0` means every interface), with
    /// SO_REUSEADDR so a run can reuse the port of one that just ended.
    public static func listen(host: String, port: Int, backlog: Int32 = 1024) throws(Failure) -> PosixSocket {
        let candidates = try resolve(host: host.isEmpty ? "0.0.0.0" : host, port: port, passive: true)
        var lastError = Failure("cannot listen on \(host):\(port)")
        for candidate in candidates {
            let socket: PosixSocket
            do { socket = try open(family: candidate.family) } catch { lastError = error; continue }
            var one: Int32 = 1
            _ = setsockopt(socket.fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            let bound = candidate.withSockaddr { address, length in bind(socket.fd, address, length) }
            if bound != 0 || systemListen(socket.fd, backlog) != 0 {
                lastError = Failure("cannot listen on \(host):\(port): \(errnoText())", code: errno)
                socket.close()
                continue
            }
            return socket
        }
        throw lastError
    }

    /// Listens on a Unix stream socket at `path`, replacing a stale socket file there.
    public static func listen(unixPath path: String, backlog: Int32 = 1024) throws(Failure) -> PosixSocket {
        var address = try unixAddress(path)
        let socket = try open(family: AF_UNIX)
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, systemListen(socket.fd, backlog) == 0 else {
            let failure = Failure("cannot listen on unix:\(path): \(errnoText())", code: errno)
            socket.close()
            throw failure
        }
        return socket
    }

    private static func unixAddress(_ path: String) throws(Failure) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw Failure("the socket path '\(path)' is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        return address
    }

    /// Accepts one pending connection, or nil when none is waiting.
    public func accept() -> PosixSocket? {
        while true {
            let client = systemAccept(fd)
            if client >= 0 {
                let accepted = PosixSocket(adopting: client)
                accepted.configure()
                var one: Int32 = 1
                _ = setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return accepted
            }
            if errno == EINTR { continue }
            return nil
        }
    }

    /// The port a listening socket got (useful after listening on port 0).
    public var localPort: Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard ok == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        default:
            return nil
        }
    }

    // MARK: I/O

    public enum IOResult: Equatable, Sendable {
        case bytes(Int)
        /// Nothing can move now; poll and retry.
        case wouldBlock
        /// The peer closed the connection (reads) or it broke.
        case closed
    }

    /// Sends what the kernel takes now; never raises SIGPIPE.
    public func send(_ bytes: UnsafeRawBufferPointer) -> IOResult {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .bytes(0) }
        while true {
            let sent = systemSend(fd, base, bytes.count)
            if sent >= 0 { return .bytes(sent) }
            if errno == EINTR { continue }
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? .wouldBlock : .closed
        }
    }

    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            let got = recv(fd, buffer.baseAddress, buffer.count, 0)
            if got > 0 { return .bytes(got) }
            if got == 0 { return .closed }
            if errno == EINTR { continue }
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? .wouldBlock : .closed
        }
    }

    /// Sends all of `bytes`, waiting for the socket to drain, for at most `timeout` seconds.
    /// Used for the short messages of the rendezvous and for `hello`.
    public func sendAll(_ bytes: [UInt8], timeout: Double) throws(Failure) {
        let deadline = MonotonicClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { send(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch result {
            case let .bytes(n): offset += n
            case .wouldBlock:
                let left = deadline - MonotonicClock.now
                guard left > 0 else { throw Failure("timed out sending") }
                _ = PosixSocket.poll(fd, events: Int16(POLLOUT), timeout: left)
            case .closed:
                throw Failure("the connection closed", code: errno)
            }
        }
    }

    public func close() {
        _ = systemClose(fd)
    }

    /// Waits until `fd` is ready for `events` or `timeout` seconds pass; returns the ready events
    /// (0 on timeout).
    @discardableResult
    public static func poll(_ fd: Int32, events: Int16, timeout: Double) -> Int16 {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        let millis = Int32(min(max(timeout * 1000, 0), Double(Int32.max)).rounded(.up))
        while true {
            let ready = systemPoll(&entry, 1, millis)
            if ready >= 0 { return ready == 0 ? 0 : entry.revents }
            if errno != EINTR { return Int16(POLLERR) }
        }
    }

    // MARK: internals

    private static func open(family: Int32) throws(Failure) -> PosixSocket {
        let fd = socket(family, streamType, 0)
        guard fd >= 0 else { throw Failure("cannot create a socket: \(errnoText())", code: errno) }
        let created = PosixSocket(adopting: fd)
        created.configure()
        return created
    }

    /// Non-blocking, close-on-exec (children of the rank must not inherit it), no SIGPIPE.
    private func configure() {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    private func finishConnect(
        _ address: UnsafePointer<sockaddr>, length: socklen_t, timeout: Double, describing target: String
    ) -> Result<Void, Failure> {
        if systemConnect(fd, address, length) == 0 { return .success(()) }
        let code = errno
        guard code == EINPROGRESS || code == EINTR || code == EAGAIN else {
            return .failure(Failure("cannot connect to \(target): \(errnoText(code))", code: code))
        }
        let ready = PosixSocket.poll(fd, events: Int16(POLLOUT), timeout: timeout)
        guard ready != 0 else {
            return .failure(Failure("cannot connect to \(target): timed out after \(timeout) s", code: ETIMEDOUT))
        }
        var status: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &size)
        guard status == 0 else {
            return .failure(Failure("cannot connect to \(target): \(errnoText(status))", code: status))
        }
        return .success(())
    }

    private struct Candidate {
        var family: Int32
        var storage: sockaddr_storage
        var length: socklen_t

        func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
            var copy = storage
            return withUnsafePointer(to: &copy) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in body(address, length) }
            }
        }
    }

    private static func resolve(host: String, port: Int, passive: Bool) throws(Failure) -> [Candidate] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        if passive { hints.ai_flags = AI_PASSIVE }
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure("cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var candidates: [Candidate] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(start: entry.pointee.ai_addr, count: Int(entry.pointee.ai_addrlen)))
            }
            candidates.append(Candidate(family: entry.pointee.ai_family, storage: storage, length: entry.pointee.ai_addrlen))
            node = entry.pointee.ai_next
        }
        return candidates
    }
}

func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
