#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FoundationEssentials

/// Where this process sits in the run, read from the variables every launcher sets (torchrun,
/// `accelerate launch`, `ranktop launch`): RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
/// MASTER_ADDR, MASTER_PORT; plus RANKTOP_RUN, the run id a ranktop launcher chose.
public struct LaunchEnvironment: Sendable, Equatable {
    public var rank: Int
    public var worldSize: Int
    public var localRank: Int
    public var localWorldSize: Int
    public var masterAddress: String
    public var masterPort: Int
    public var run: String?
    /// `TORCHELASTIC_RESTART_COUNT`, when an elastic launcher restarted the run.
    public var restart: Int?

    /// A single process: what a program started without a launcher is.
    public static let singleProcess = LaunchEnvironment(
        rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, masterAddress: "127.0.0.1", masterPort: 29500)

    public init(
        rank: Int, worldSize: Int, localRank: Int, localWorldSize: Int, masterAddress: String, masterPort: Int,
        run: String? = nil, restart: Int? = nil
    ) {
        self.rank = rank
        self.worldSize = worldSize
        self.localRank = localRank
        self.localWorldSize = localWorldSize
        self.masterAddress = masterAddress
        self.masterPort = masterPort
        self.run = run
        self.restart = restart
    }

    /// Reads the variables; unset ones default as in Accelerate (one process, rank 0). With more
    /// than one process MASTER_ADDR and MASTER_PORT are required, as torch requires them.
    public init(parsing environment: [String: String]) throws(RendezvousError) {
        func integer(_ name: String) throws(RendezvousError) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())) else {
                throw RendezvousError("\(name)='\(text)' is not an integer")
            }
            return value
        }
        worldSize = try integer("WORLD_SIZE") ?? 1
        guard worldSize >= 1 else { throw RendezvousError("WORLD_SIZE=\(worldSize): a run needs at least one process") }
        rank = try integer("RANK") ?? 0
        guard (0..<worldSize).contains(rank) else {
            throw RendezvousError("RANK=\(rank) is outside 0..<\(worldSize) (WORLD_SIZE=\(worldSize))")
        }
        localWorldSize = try integer("LOCAL_WORLD_SIZE") ?? worldSize
        guard (1...worldSize).contains(localWorldSize) else {
            throw RendezvousError("LOCAL_WORLD_SIZE=\(localWorldSize) must be between 1 and WORLD_SIZE=\(worldSize)")
        }
        localRank = try integer("LOCAL_RANK") ?? rank % localWorldSize
        guard (0..<localWorldSize).contains(localRank) else {
            throw RendezvousError("LOCAL_RANK=\(localRank) is outside 0..<\(localWorldSize) (LOCAL_WORLD_SIZE=\(localWorldSize))")
        }
        let address = environment["MASTER_ADDR"].flatMap { $0.isEmpty ? nil : $0 }
        let port = try integer("MASTER_PORT")
        if worldSize > 1 {
            guard address != nil else {
                throw RendezvousError("MASTER_ADDR is not set: with WORLD_SIZE=\(worldSize) every rank needs it to find the rendezvous store rank 0 hosts (torchrun and ranktop launch set it)")
            }
            guard port != nil else {
                throw RendezvousError("MASTER_PORT is not set: with WORLD_SIZE=\(worldSize) every rank needs it to find the rendezvous store rank 0 hosts (torchrun and ranktop launch set it)")
            }
        }
        masterAddress = address ?? "127.0.0.1"
        masterPort = port ?? 29500
        guard (1...65535).contains(masterPort) else { throw RendezvousError("MASTER_PORT=\(masterPort) is not a TCP port (1-65535)") }
        run = environment["RANKTOP_RUN"].flatMap { $0.isEmpty ? nil : $0 }
        restart = try integer("TORCHELASTIC_RESTART_COUNT")
    }
}
