#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// When a segment goes: a run that ended cleanly (every rank that wrote to it said `bye`)
/// leaves nothing behind; any other keeps its segment as the flight recorder it is.
/// `RANKTOP_SHM_KEEP=1` keeps even a clean run's.
public enum ShmCleanup {
    public static var keepsEverything: Bool {
        guard let value = getenv("RANKTOP_SHM_KEEP") else { return false }
        let text = String(cString: value)
        return !text.isEmpty && text != "0"
    }

    public static func everyRankSaidBye(_ segment: ShmSegment) -> Bool {
        let claimed = segment.areas.filter { $0.pid != 0 }
        return !claimed.isEmpty && claimed.allSatisfy(\.saidBye)
    }

    /// Removes the segment when every rank said bye; under the segment's lock, so the last of
    /// several ranks finishing together does it once.
    @discardableResult
    public static func removeIfEveryRankSaidBye(_ segment: ShmSegment) -> Bool {
        guard !keepsEverything else { return false }
        return (try? segment.withLock { () -> Bool in
            guard everyRankSaidBye(segment) else { return false }
            segment.unlink()
            return true
        }) ?? false
    }
}
