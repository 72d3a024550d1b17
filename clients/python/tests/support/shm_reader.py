"""A test-only reader of ranktop's shared-memory segment, following docs/protocol.md ("Shared-memory
layout (ranktop extension)", "Reading") rule by rule, independently of the adapter's writer: it
shares no code with `ranktop._shm` beyond the numbers in the doc's tables.

Also writes control slots as a dashboard or relay would (`write_control`), for the tests of the
rank's control thread.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import time
from typing import Dict, List, Optional, Tuple

SLOT_BYTES = 256
SLOT_DATA = 240
STATE_BYTES = 4096
CONTROL_OFFSET = 4096
CONTROL_SLOT_BYTES = 512
INCOMPLETE_SLOT_SECONDS = 0.5

_HEADER = struct.Struct("<8sIIIIIIQQIIdIIQ104s")
_HEADER_FIELDS = ("magic", "layout", "header_bytes", "rank_capacity", "ring_slots", "slot_bytes", "state_bytes",
                  "ranks_offset", "rank_stride", "control_slots", "control_slot_bytes", "created", "creator_pid",
                  "reserved", "control_head", "name")
_STATE = struct.Struct("<QIIiIddQqqQd")
_STATE_FIELDS = ("head", "pid", "generation", "rank", "flags", "ts", "progress_ts", "seq", "step", "total",
                 "dropped", "wait_since")
RECORDS = {"hello": (128, 1536), "progress": (1664, 1024), "barrier": (2688, 512), "collective": (3200, 512),
           "phase": (3712, 384)}


class Segment:
    """A mapping of the whole file (read and write: the control block is written by readers)."""

    def __init__(self, path: str) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR)
        try:
            self.size = os.fstat(fd).st_size
            self.mm = mmap.mmap(fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        # 8-byte aligned loads of the shared u64s: one load each, never torn.
        self.q = memoryview(self.mm).cast("Q")
        self.d = memoryview(self.mm).cast("d")
        if self.header()["layout"] != 1:
            raise AssertionError("layout is not 1: %r" % (self.header(),))

    def close(self) -> None:
        self.q.release()
        self.d.release()
        self.mm.close()

    def header(self) -> Dict[str, object]:
        values = dict(zip(_HEADER_FIELDS, _HEADER.unpack_from(self.mm, 0)))
        values["name"] = values["name"].rstrip(b"\0").decode("ascii")
        return values

    def area(self, index: int) -> "Area":
        return Area(self, index)

    def areas(self) -> List["Area"]:
        """The areas some process claimed (generation > 0)."""
        header = self.header()
        found = []
        for index in range(header["rank_capacity"]):
            area = Area(self, index)
            if area.state()["generation"] > 0:
                found.append(area)
        return found

    def area_of_rank(self, rank: int) -> "Area":
        matches = [a for a in self.areas() if a.state()["rank"] == rank]
        if len(matches) != 1:
            raise AssertionError("rank %d holds %d areas" % (rank, len(matches)))
        return matches[0]

    def write_control(self, line: bytes, target: int = -1, ts: Optional[float] = None) -> int:
        """One control slot, as the doc's writer does it (this test is the only writer): claim
        `i = control_head++`, stamp 0, target, length, ts, bytes, stamp i + 1 last."""
        header = self.header()
        i = self.q[72 // 8]
        self.q[72 // 8] = i + 1
        base = CONTROL_OFFSET + (i % header["control_slots"]) * CONTROL_SLOT_BYTES
        self.q[base // 8] = 0
        struct.pack_into("<iId", self.mm, base + 8, target, len(line), time.time() if ts is None else ts)
        self.mm[base + 24:base + 24 + len(line)] = line
        self.q[base // 8] = i + 1
        return i


class Area:
    def __init__(self, segment: Segment, index: int) -> None:
        header = segment.header()
        self.segment = segment
        self.index = index
        self.offset = header["ranks_offset"] + index * header["rank_stride"]
        self.ring_slots = header["ring_slots"]

    def state(self) -> Dict[str, object]:
        return dict(zip(_STATE_FIELDS, _STATE.unpack_from(self.segment.mm, self.offset)))

    @property
    def head(self) -> int:
        return self.segment.q[self.offset // 8]

    def record(self, kind: str) -> Optional[bytes]:
        """A state record by the version rule: copy while even, keep it when unchanged after; None when empty."""
        offset, size = RECORDS[kind]
        at = self.offset + offset
        q = self.segment.q
        for _ in range(100000):
            version = q[at // 8]
            if version & 1:
                continue
            length = struct.unpack_from("<I", self.segment.mm, at + 8)[0]
            if length > size - 16:
                raise AssertionError("%s record length %d exceeds its %d bytes" % (kind, length, size - 16))
            data = bytes(self.segment.mm[at + 16:at + 16 + length])
            if q[at // 8] == version:
                return data or None
        raise AssertionError("%s record never settled" % kind)

    def record_event(self, kind: str) -> Optional[dict]:
        data = self.record(kind)
        return None if data is None else json.loads(data)

    def cursor(self, start: Optional[int] = None) -> "RingCursor":
        return RingCursor(self, start)


class RingCursor:
    """One reader's position in one rank's ring, and what it had to skip."""

    def __init__(self, area: Area, start: Optional[int] = None) -> None:
        self.area = area
        self.position = max(0, area.head - area.ring_slots) if start is None else start
        self.lapped = 0  # slots the writer overwrote before this reader came to them
        self.skipped = 0  # slots skipped: overwritten, continuation slots, never completed
        self.torn = 0  # records whose stamps changed while they were copied
        self.torn_unusable = 0  # of those, copies that would not even decode (what the check saves)
        self._incomplete_since: Optional[float] = None
        self.pause_before_recheck = None  # a test's hook between the copy and the second stamp check

    def drain(self) -> List[Tuple[int, bytes]]:
        """Every complete record from the position up to `head`: [(absolute index, bytes)]."""
        area = self.area
        q = area.segment.q
        mm = area.segment.mm
        n = area.ring_slots
        mask = n - 1
        ring = area.offset + STATE_BYTES
        out = []
        while True:
            head = q[area.offset // 8]
            p = self.position
            if head - p > n:
                self.lapped += head - n - p
                p = self.position = head - n
            if p >= head:
                return out
            slot = ring + (p & mask) * SLOT_BYTES
            stamp = q[slot // 8]
            if stamp < p + 1:
                # Not written yet (a writer between its reservation and its stamp).
                now = time.monotonic()
                if self._incomplete_since is None:
                    self._incomplete_since = now
                if now - self._incomplete_since < INCOMPLETE_SLOT_SECONDS:
                    return out
                self._incomplete_since = None
                self.skipped += 1
                self.position = p + 1
                continue
            self._incomplete_since = None
            if stamp > p + 1:
                self.skipped += 1  # overwritten
                self.position = p + 1
                continue
            word = q[slot // 8 + 1]
            length, k = word & 0xFFFFFFFF, (word >> 32) & 0xFFFF
            if k == 0:
                self.skipped += 1  # a continuation slot: this reader joined mid-record
                self.position = p + 1
                continue
            if k > n // 4 or not (k - 1) * SLOT_DATA < length <= k * SLOT_DATA:
                self.torn += 1  # a length word from another write than the stamp
                self.position = p + 1
                continue
            slots = [ring + ((p + j) & mask) * SLOT_BYTES for j in range(k)]
            stamps = [q[s // 8] for s in slots]
            if stamps != [p + j + 1 for j in range(k)]:
                if p + k > head:
                    return out  # the rest of the record is not published yet
                self.torn += 1
                self.position = p + 1
                continue
            chunks = []
            left = length
            for s in slots:
                take = min(left, SLOT_DATA)
                chunks.append(mm[s + 16:s + 16 + take])
                left -= take
            data = b"".join(chunks)
            if self.pause_before_recheck is not None:
                self.pause_before_recheck()
            if [q[s // 8] for s in slots] != stamps or q[slots[0] // 8 + 1] != word:
                self.torn += 1
                try:
                    json.loads(data)
                except ValueError:
                    self.torn_unusable += 1
                self.position = p + 1
                continue
            out.append((p, data))
            self.position = p + k

    def events(self) -> List[dict]:
        """`drain`, decoded and put in seq order (the doc: a reader orders each drain by seq)."""
        return sorted((json.loads(data) for _, data in self.drain()), key=lambda e: e["seq"])
