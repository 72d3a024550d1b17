import RanktopModel
import RanktopProtocol

/// Which open wait each rank of the grid is in: a letter per wait (the oldest is `a`), and `!`
/// for the ranks missing from the oldest, so that "which 12 of 4096 are missing from
/// all_reduce #812" is visible at a glance. The legend names each letter's wait.
struct GridWaits {
    struct Wait {
        var letter: Character
        var title: String
        var inside: Int
        var missing: RankSet?
    }

    /// At most this many waits get a letter; ranks in later ones keep their state's glyph.
    static let maxLettered = 6
    static let missingGlyph: Character = "!"

    let waits: [Wait]
    private let letterOfBarrier: [Int: Character]
    private let letterOfCollective: [CollectiveKey: Character]
    /// Ranks missing from the oldest wait (the one the others are held behind).
    let missing: RankSet

    init(digest: RunSnapshot) {
        struct Open { var since: Double; var title: String; var missing: RankSet?; var inside: Int; var barrier: Int?; var collective: CollectiveKey? }
        var open: [Open] = digest.openWaits.map { wait in
            let title = "barrier #\(wait.n)" + (wait.name.map { " \($0)" } ?? "")
            return Open(since: wait.since, title: title, missing: wait.missing, inside: wait.arrived.count, barrier: wait.n, collective: nil)
        }
        open += digest.openCollectives.filter { !$0.isAsync }.map { collective in
            Open(since: collective.since, title: collective.title, missing: collective.missing, inside: collective.arrived.count,
                 barrier: nil, collective: CollectiveKey(group: collective.group, n: collective.n))
        }
        open.sort { $0.since < $1.since }
        var waits: [Wait] = []
        var barriers: [Int: Character] = [:]
        var collectives: [CollectiveKey: Character] = [:]
        for (index, wait) in open.prefix(GridWaits.maxLettered).enumerated() {
            let letter = Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(index)))
            waits.append(Wait(letter: letter, title: wait.title, inside: wait.inside, missing: wait.missing))
            if let n = wait.barrier { barriers[n] = letter }
            if let key = wait.collective { collectives[key] = letter }
        }
        self.waits = waits
        letterOfBarrier = barriers
        letterOfCollective = collectives
        missing = open.first?.missing ?? RankSet()
    }

    var isEmpty: Bool { waits.isEmpty }

    /// The glyph for `rank` when a wait decides it: `!` missing from the oldest, or the letter of
    /// the wait it is in (its current collective, else its barrier's number).
    func glyph(of rank: Int, collective: RankCollective?, barrier: Int?) -> (Character, missing: Bool)? {
        if missing.contains(rank: rank) { return (GridWaits.missingGlyph, true) }
        if let collective, !collective.isAsync,
           let letter = letterOfCollective[CollectiveKey(group: collective.group, n: collective.n)] {
            return (letter, false)
        }
        if let barrier, let letter = letterOfBarrier[barrier] { return (letter, false) }
        return nil
    }

    /// `a all_reduce #812 check_trigger 4084 in · ! 12 missing: 3, 7, 9-18`.
    func legend(context: RenderContext) -> StyledLine {
        var line = StyledLine()
        for wait in waits {
            if !line.spans.isEmpty { line.add("  ", context.style(.text)) }
            line.add(String(wait.letter), context.style(.barrier))
            line.add(" \(wait.title) \(wait.inside) in", context.style(.text))
        }
        if !missing.isEmpty {
            line.add("  ", context.style(.text))
            line.add(String(GridWaits.missingGlyph), context.style(.barrierMissing))
            line.add(" \(missing.count) missing: \(missing.text(limit: 6))", context.style(.barrierMissing))
        }
        return line
    }
}
