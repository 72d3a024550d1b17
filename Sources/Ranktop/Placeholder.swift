// The runtime API for Swift training programs (the Live pipeline issue).
import RanktopProtocol
