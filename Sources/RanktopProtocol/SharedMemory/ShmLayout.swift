/// The byte layout of a shared-memory segment (docs/protocol.md, "Shared-memory layout"): the
/// Swift and Python writers and every reader agree on these numbers, nothing else.
public enum ShmLayout {
    public static let magic: [UInt8] = Array("ranktop\0".utf8)
    public static let version: UInt32 = 1
    public static let headerBytes = 4096
    public static let slotBytes = 256
    public static let slotHeaderBytes = 16
    public static let slotPayloadBytes = slotBytes - slotHeaderBytes
    public static let stateBytes = 4096
    public static let controlSlots = 64
    public static let controlSlotBytes = 512
    public static let controlHeaderBytes = 24
    public static let defaultRankCapacity = 64
    public static let defaultRingSlots = 8192
    public static let minRingSlots = 1024
    public static let maxRingSlots = 1 << 20
    public static let maxRecordBytes = 65_536
    public static let nameBytes = 104
    public static let maxNameLength = 100

    /// Header field offsets.
    enum Header {
        static let layout = 8
        static let headerSize = 12
        static let rankCapacity = 16
        static let ringSlots = 20
        static let slotBytes = 24
        static let stateBytes = 28
        static let ranksOffset = 32
        static let rankStride = 40
        static let controlSlots = 48
        static let controlSlotBytes = 52
        static let created = 56
        static let creatorPid = 64
        static let controlHead = 72
        static let name = 80
    }

    /// State block field offsets, from the start of a rank area.
    enum State {
        static let head = 0
        static let pid = 8
        static let generation = 12
        static let rank = 16
        static let flags = 20
        static let lastTs = 24
        static let lastProgressTs = 32
        static let lastSeq = 40
        static let step = 48
        static let total = 56
        static let dropped = 64
        static let waitSince = 72
        static let byeFlag: UInt32 = 1
    }

    /// The events a state block keeps a copy of, so a late reader knows the rank's state.
    public enum StateRecord: Int, CaseIterable, Sendable {
        case hello, progress, barrier, collective, phase

        var offset: Int {
            switch self {
            case .hello: 128
            case .progress: 1664
            case .barrier: 2688
            case .collective: 3200
            case .phase: 3712
            }
        }

        var capacity: Int {
            switch self {
            case .hello: 1536
            case .progress: 1024
            case .barrier, .collective: 512
            case .phase: 384
            }
        }

        /// Bytes of JSON a record holds after its 16-byte version and length.
        var payloadCapacity: Int { capacity - 16 }
    }

    public static func ranksOffset() -> Int { headerBytes + controlSlots * controlSlotBytes }
    public static func rankStride(ringSlots: Int) -> Int { stateBytes + ringSlots * slotBytes }
    public static func fileSize(rankCapacity: Int, ringSlots: Int) -> Int {
        ranksOffset() + rankCapacity * rankStride(ringSlots: ringSlots)
    }
}
