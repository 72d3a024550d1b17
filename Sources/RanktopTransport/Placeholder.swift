// The transport layer: emitters, collector, sockets, shared memory (the Live pipeline issue).
import RanktopProtocol
