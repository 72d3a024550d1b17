"""The shared-memory writer: `RANKTOP_ADDR=shm://NAME` (docs/protocol.md, "Shared-memory layout").

One file per run and node, `/dev/shm/ranktop-NAME` (`$RANKTOP_SHM_DIR` when set), mode 0600: a
header, a control block, and one rank area per local rank (a state block, then a ring of 256-byte
slots). This process claims one area and writes every event into its ring as the same JSON bytes a
socket line carries (without the newline), then updates the state block a late reader starts from.

The training thread does all of it in `emit`: a timestamp, the encoding (the socket emitter's
bytes, with its encoder's pieces), and under one lock the slot stores, `head` and the state block.
No system call, no thread woken, no queue: the ring never waits for a reader (a full ring
overwrites its oldest slots; the reader sees the `seq` gap). CPython has no fences or atomics on a
mapping, so each slot is written `stamp = 0` first (with its header and bytes, in that order, by
one native `struct.pack_into`) and its final stamp last (a `memoryview` cast to `Q`: one aligned
8-byte store); readers check the stamps before and after they copy (the doc's "Writers without
atomics"). `head` is published after the slots, so a reader never waits on this writer.

A daemon thread looks at the control block every 50 ms (a load from the mapping) and hands new
control lines to `on_control`, as the socket emitter's reader thread does; it also runs `tick`
(async collectives' exits). There are no heartbeats: a reader judges liveness by the area's pid.

Opening, creating and claiming happen once, under an exclusive `lockf` on byte 0 of the file;
any failure raises `SegmentError` from the constructor, which `_wiring` turns into one warning.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import json
import mmap
import os
import re
import stat
import struct
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._emitter import Emitter as _SocketEmitter
from ._emitter import _native
from ._emitter import _encode_string, append_field_texts
from ._transport import MAX_LINE_BYTES

Fields = Optional[Dict[str, Any]]

MAGIC = b"ranktop\0"
LAYOUT = 1
HEADER_BYTES = 4096
SLOT_BYTES = 256
SLOT_DATA = SLOT_BYTES - 16  # 240 bytes of the record a slot
STATE_BYTES = 4096
CONTROL_OFFSET = HEADER_BYTES
CONTROL_SLOTS = 64
CONTROL_SLOT_BYTES = 512
CONTROL_DATA = CONTROL_SLOT_BYTES - 24
RANKS_OFFSET = CONTROL_OFFSET + CONTROL_SLOTS * CONTROL_SLOT_BYTES  # 36864, page aligned
NAME_BYTES = 104

DEFAULT_RANK_CAPACITY = 64
DEFAULT_RING_SLOTS = 8192
MIN_RING_SLOTS = 1024
MAX_RING_SLOTS = 1 << 20  # 256 MiB a rank
MAX_RANK_CAPACITY = 1 << 16
MAX_RECORD_BYTES = MAX_LINE_BYTES  # 65,536

CONTROL_POLL_SECONDS = 0.05
STACK_REQUEST_MAX_AGE_SECONDS = 10.0
# An `inject` issued before this rank started still applies (the doc), but not one from a run
# that used the same segment long ago: the collector keeps a delivered injection pending for
# 10 minutes, so does this reader.
INJECT_MAX_AGE_SECONDS = 600.0
INCOMPLETE_CONTROL_SLOT_SECONDS = 0.5
LOCK_WAIT_SECONDS = 10.0

# Header fields (offsets from the start of the file).
H_LAYOUT = 8
H_CONTROL_HEAD = 72
_HEADER = struct.Struct("<8sIIIIIIQQIIdII")  # magic .. reserved, 72 bytes

# State block fields (offsets from the start of a rank area), and the u64 index of each.
S_HEAD, S_PID, S_GENERATION, S_RANK, S_FLAGS = 0, 8, 12, 16, 20
S_TS, S_PROGRESS_TS, S_SEQ, S_STEP, S_TOTAL, S_DROPPED, S_WAIT = 24, 32, 40, 48, 56, 64, 72
FLAG_BYE = 1
# State records: (offset, bytes), each `[u64 version][u32 length][u32 reserved][JSON]`.
RECORDS = {
    "hello": (128, 1536),
    "progress": (1664, 1024),
    "barrier": (2688, 512),
    "collective": (3200, 512),
    "phase": (3712, 384),
}
MAX_OPEN_PHASES = 64

_NAME_OK = re.compile(r"[A-Za-z0-9._-]{1,100}\Z")
_NAME_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")

_time_ns = time.time_ns
# The socket emitter's metrics encoder, reused as is (it only needs `_metric_keys` on self).
_metrics_text = _SocketEmitter._metrics_text
_monotonic = time.monotonic

# `ts` text, exactly as the socket emitter writes it (repr(round(ts, 6))) for ts = us / 1e6, from
# the integer microseconds' digits: float formatting would be a large part of an emit. The same
# bytes for every ts from 1 s to 2^33 s (year 2242; the decoder takes ts below 10^10); outside
# that range, the float path.
_FAST_TS_LIMIT = (1 << 33) * 1000000

# Native order and sizes (the layout is little-endian; big-endian hosts are refused): 8-byte
# stores: a slot's stamp, its length word (u32 length, u16 k, u16 0) and its 240 bytes; a state
# record's version, its length word (u32 length, u32 0) and its bytes. pack_into stores them in
# order, so stamp 0 (or an odd version) goes first; the final stamp or version is a separate store.
_SLOT = struct.Struct("@QQ%ds" % SLOT_DATA)
_RECORD_1008 = struct.Struct("@QQ1008s")
_RECORD_496 = struct.Struct("@QQ496s")


def _float_text(value: float) -> str:
    return repr(value) if value - value == 0 else "null"


# Field values by exact type, as the socket emitter's `_encode_batch` writes them (ints and bools
# inline there, the rest through `_value_text`); anything else (lists, dicts, subclasses) goes
# through `_encode`, which is that code.
_CONVERTERS: Dict[type, Callable[[Any], str]] = {
    int: int.__repr__,
    str: _encode_string,
    bool: {True: "true", False: "false"}.__getitem__,
    float: _float_text,
    type(None): {None: "null"}.__getitem__,
}


class SegmentError(Exception):
    """The segment could not be opened, created or claimed: this process does not report."""


def auto_name(run: str) -> str:
    """What `shm://auto` stands for: the run id's first 100 UTF-8 bytes, every byte outside
    [A-Za-z0-9._-] as `_` (the Swift side's `ShmSegment.autoName`, byte for byte); `run` when
    that leaves nothing usable."""
    raw = run.encode("utf-8", "replace")[:100]
    name = "".join(chr(byte) if byte in _NAME_BYTES else "_" for byte in raw)
    return "run" if name in ("", ".", "..") else name


def segment_name(name: str, hello: Dict[str, Any]) -> str:
    """The segment's NAME: `auto` is the hello's run id (`auto_name`); any other must be 1 to 100
    characters of [A-Za-z0-9._-], not `.` or `..`."""
    if name == "auto":
        name = auto_name(str(hello.get("run") or ""))
    if not _NAME_OK.match(name) or name in (".", ".."):
        raise SegmentError("a shared-memory name is 1 to 100 characters of A-Z a-z 0-9 . _ -, e.g. shm://run42")
    return name


def segment_path(name: str) -> str:
    return os.path.join(os.environ.get("RANKTOP_SHM_DIR") or "/dev/shm", "ranktop-" + name)


def ring_slots_from_environment() -> int:
    try:
        wanted = int(os.environ.get("RANKTOP_SHM_SLOTS", DEFAULT_RING_SLOTS))
    except ValueError:
        wanted = DEFAULT_RING_SLOTS
    wanted = min(max(wanted, MIN_RING_SLOTS), MAX_RING_SLOTS)
    return 1 << (wanted - 1).bit_length()  # the next power of two


def _alive(pid: int) -> bool:
    """Whether `pid` runs here. A zombie does not (a killed rank nobody reaped yet), as on the Swift side."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True  # another emitter of this process holds it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # EPERM: it exists
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            text = f.read(512)
    except OSError:
        return True
    # "pid (comm) S ...": the state follows the last ')' (comm may hold anything).
    close = text.rfind(b")")
    return not (close >= 0 and text[close + 2:close + 3] == b"Z")


def _keeps_segments() -> bool:
    """`RANKTOP_SHM_KEEP=1`: even a clean run's segment stays."""
    value = os.environ.get("RANKTOP_SHM_KEEP", "")
    return value not in ("", "0")


class _Geometry:
    __slots__ = ("rank_capacity", "ring_slots", "ranks_offset", "rank_stride", "control_slots")

    def __init__(self, rank_capacity: int, ring_slots: int, ranks_offset: int, rank_stride: int,
                 control_slots: int) -> None:
        self.rank_capacity = rank_capacity
        self.ring_slots = ring_slots
        self.ranks_offset = ranks_offset
        self.rank_stride = rank_stride
        self.control_slots = control_slots

    @property
    def file_bytes(self) -> int:
        return self.ranks_offset + self.rank_capacity * self.rank_stride


class SharedMemoryEmitter:
    """Writes one rank's events into its area of the run's segment; the socket `Emitter`'s surface."""

    def __init__(
        self,
        name: str,
        rank: int,
        hello: Dict[str, Any],
        local_rank: Optional[int] = None,
        on_control: Optional[Callable[[Dict[str, Any]], None]] = None,
        rank_capacity: Optional[int] = None,
        ring_slots: Optional[int] = None,
    ) -> None:
        self.rank = rank
        hello = dict(hello)
        # The segment is guarded by its mode (0600); a token has no business in a file that outlives the run.
        hello.pop("token", None)
        self.name = segment_name(name, hello)
        self.path = segment_path(self.name)
        self.dropped = 0  # records not written: too large for the ring, or not encodable
        self.oversized = 0  # of those, the ones the encoder refused (as the socket emitter counts them)
        self.connections = 0  # 1 once the area is claimed
        self.errors = 0  # failures inside emit (never raised)
        self.wakeups = 0  # never: emit wakes nobody (the socket emitter's counter, for stats)
        self.writer_cycles = 0  # control-thread wake-ups
        self.controls = 0  # control lines handed to on_control
        self.generation = 0
        self.tick: Optional[Callable[[], bool]] = None
        self._on_control = on_control
        # Reentrant: a signal handler or a finalizer that emits while this thread is inside emit
        # must not hang the training thread (the slots are reserved before they are written). The
        # C writer takes an EmitLock without a method call.
        self._lock = _native.EmitLock() if hasattr(_native, "EmitLock") else threading.RLock()
        self._seq_counter = itertools.count(1)  # hello is seq 0
        self._next_seq = self._seq_counter.__next__  # one C call: thread-safe under the GIL
        self._prefixes: Dict[str, str] = {}
        self._keys: Dict[Any, str] = {}
        self._metric_keys: Dict[Any, str] = {}
        self._closed = True
        self._stopping = threading.Event()
        self._pid = os.getpid()
        self._bye = False
        self._barrier_since = 0.0
        self._collective_since = 0.0
        self._open_collective: Optional[Tuple[Any, Any]] = None
        self._phases: List[Tuple[Any, bytes]] = []
        self._mm: Any = None
        self._header: Any = None
        self._views: List[memoryview] = []
        self._fd = -1
        self.removed = False  # this process removed the segment at stop (a clean run)
        if local_rank is None:
            local_rank = int(hello.get("local_rank", 0) or 0)
        if rank_capacity is None:
            wanted = _env_int("RANKTOP_SHM_RANKS", 0)
            rank_capacity = max(wanted if wanted > 0 else DEFAULT_RANK_CAPACITY, int(hello.get("local_world", 1) or 1),
                                _env_int("LOCAL_WORLD_SIZE", 1), local_rank + 1)
        if ring_slots is None:
            ring_slots = ring_slots_from_environment()
        if sys.byteorder != "little":
            raise SegmentError("the shared-memory layout is little-endian; this host is not")
        self._open(min(rank_capacity, MAX_RANK_CAPACITY), ring_slots, local_rank)
        self._started_ts = _time_ns() / 1e9
        self._thread = threading.Thread(target=self._control_loop, name="ranktop-shm-control", daemon=True)
        self._write_hello(hello)
        self._attach_native_writer()

    def __str__(self) -> str:
        return "shm://" + self.name

    def _attach_native_writer(self) -> None:
        """`emit` in C (`_native_ring.c`) when it is built: an instance attribute, so `em.emit(...)`
        calls it with no Python frame. It keeps its state in this object's `__dict__`, under `_lock`."""
        writer_type = getattr(_native, "RingWriter", None)
        if writer_type is None:
            return
        clock = None if _time_ns is time.time_ns else _time_ns  # the tests' clock, when they set one
        self.emit = writer_type(self.__dict__, self._mm, self._lock, self._seq_counter, self._prefixes, self._keys,
                                self._metric_keys, self._mask, self._max_slots,
                                SharedMemoryEmitter.emit.__get__(self), self._emit_at, clock)

    # -- opening, creating, claiming (once, under the file lock) ---------------------------------

    def _open(self, rank_capacity: int, ring_slots: int, local_rank: int) -> None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        for _attempt in range(5):
            try:
                fd = os.open(self.path, flags, 0o600)
            except OSError as error:
                raise SegmentError("cannot open %s: %s" % (self.path, error.strerror or error)) from None
            try:
                try:
                    info = os.fstat(fd)
                    if not stat.S_ISREG(info.st_mode):
                        raise SegmentError("%s is not a regular file" % self.path)
                    os.fchmod(fd, 0o600)
                except OSError as error:
                    raise SegmentError("cannot use %s: %s" % (self.path, error.strerror or error)) from None
                self._lock_file(fd, LOCK_WAIT_SECONDS)
                try:
                    if not self._still_named(fd):
                        # The last rank of a run that ended removed it between our open and our
                        # lock: this inode is nobody's segment any more. Open the path again.
                        os.close(fd)
                        fd = -1
                        continue
                    geometry = self._create_or_join(fd, rank_capacity, ring_slots)
                    self._claim(fd, geometry, local_rank)
                except OSError as error:
                    raise SegmentError("cannot set up %s: %s" % (self.path, error.strerror or error)) from None
                finally:
                    if fd >= 0:
                        try:
                            fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0, 0)
                        except OSError:
                            pass
            except BaseException:
                self._release_mappings()
                if fd >= 0:
                    os.close(fd)
                raise
            self._fd = fd  # kept for the lock at the end (removing the segment of a clean run)
            return
        raise SegmentError("%s keeps being removed while this process opens it" % self.path)

    def _still_named(self, fd: int) -> bool:
        try:
            named, held = os.stat(self.path, follow_symlinks=False), os.fstat(fd)
        except OSError:
            return False
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _lock_file(self, fd: int, seconds: float) -> None:
        # Bounded: a process that hangs while holding the lock must not hang this rank's training.
        deadline = _monotonic() + seconds
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0, 0)
                return
            except OSError as error:
                if error.errno not in (errno.EACCES, errno.EAGAIN):
                    raise SegmentError("cannot lock %s: %s" % (self.path, error.strerror or error)) from None
            if _monotonic() > deadline:
                raise SegmentError("%s stays locked by another process for %.0f s" % (self.path, seconds))
            time.sleep(0.01)

    def _create_or_join(self, fd: int, rank_capacity: int, ring_slots: int) -> _Geometry:
        size = os.fstat(fd).st_size
        if size >= HEADER_BYTES:
            raw = os.pread(fd, _HEADER.size, 0)
            (magic, layout, header_bytes, capacity, slots, slot_bytes, state_bytes, ranks_offset, stride,
             control_slots, control_slot_bytes, _created, _pid, _reserved) = _HEADER.unpack(raw)
            if layout != 0:
                if magic != MAGIC:
                    raise SegmentError("%s is not a ranktop segment" % self.path)
                if layout != LAYOUT:
                    raise SegmentError("%s has layout %d; this adapter writes layout %d" % (self.path, layout, LAYOUT))
                geometry = _Geometry(capacity, slots, ranks_offset, stride, control_slots)
                if (header_bytes != HEADER_BYTES or slot_bytes != SLOT_BYTES or state_bytes != STATE_BYTES
                        or control_slot_bytes != CONTROL_SLOT_BYTES or not 1 <= control_slots <= 4096
                        or slots < 4 or slots & (slots - 1) or capacity < 1
                        or stride != STATE_BYTES + slots * SLOT_BYTES
                        or ranks_offset < CONTROL_OFFSET + control_slots * CONTROL_SLOT_BYTES
                        or ranks_offset % mmap.ALLOCATIONGRANULARITY or stride % mmap.ALLOCATIONGRANULARITY
                        or size < geometry.file_bytes):
                    raise SegmentError("%s has a header this adapter cannot use" % self.path)
                return geometry
            # layout 0 with the lock held: its creator died while it made the header. Start over.
        geometry = _Geometry(rank_capacity, ring_slots, RANKS_OFFSET, STATE_BYTES + ring_slots * SLOT_BYTES,
                             CONTROL_SLOTS)
        os.ftruncate(fd, 0)
        os.ftruncate(fd, geometry.file_bytes)  # sparse: pages are allocated when touched
        self._reserve(fd, 0, RANKS_OFFSET)
        header = _HEADER.pack(MAGIC, 0, HEADER_BYTES, geometry.rank_capacity, geometry.ring_slots, SLOT_BYTES,
                              STATE_BYTES, geometry.ranks_offset, geometry.rank_stride, CONTROL_SLOTS,
                              CONTROL_SLOT_BYTES, time.time(), os.getpid(), 0)
        name = self.name.encode("ascii")
        os.pwrite(fd, header + struct.pack("<Q", 0) + name + b"\0" * (NAME_BYTES - len(name)), 0)
        os.pwrite(fd, struct.pack("<I", LAYOUT), H_LAYOUT)  # last: the header is ready
        return geometry

    def _reserve(self, fd: int, offset: int, length: int) -> None:
        # Pages of a tmpfs file that cannot be allocated when first touched raise SIGBUS in the
        # writer: allocate this process's own pages now, while failing is still a warning.
        try:
            os.posix_fallocate(fd, offset, length)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise SegmentError("no room for %d bytes in %s: %s" % (length, self.path, error.strerror)) from None
            # EOPNOTSUPP, EINVAL (a file system without fallocate): go on, as the doc's writer does
        except AttributeError:  # pragma: no cover - no posix_fallocate on this platform
            pass

    def _claim(self, fd: int, geometry: _Geometry, local_rank: int) -> None:
        areas = []
        for index in range(geometry.rank_capacity):
            raw = os.pread(fd, 24, geometry.ranks_offset + index * geometry.rank_stride)
            _head, pid, generation, rank, _flags = struct.unpack("<QIIiI", raw)
            areas.append((pid, generation, rank))
        chosen = None
        # The area this global rank held before (a restarted process), if its process is gone...
        for index, (pid, generation, rank) in enumerate(areas):
            if pid != 0 and rank == self.rank and not _alive(pid):
                chosen = index
                break
        # ...else the one at local_rank when free, else the first free one.
        if chosen is None and 0 <= local_rank < len(areas) and not _alive(areas[local_rank][0]):
            chosen = local_rank
        if chosen is None:
            for index, (pid, _generation, _rank) in enumerate(areas):
                if not _alive(pid):
                    chosen = index
                    break
        if chosen is None:
            raise SegmentError("all %d rank areas of %s are held by live processes" % (len(areas), self.path))
        offset = geometry.ranks_offset + chosen * geometry.rank_stride
        self._reserve(fd, offset, geometry.rank_stride)
        self._header = mmap.mmap(fd, geometry.ranks_offset, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._mm = mmap.mmap(fd, geometry.rank_stride, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                             offset=offset)
        self.area = chosen
        self.geometry = geometry
        self._q = memoryview(self._mm).cast("Q")
        self._s = memoryview(self._mm).cast("q")
        self._d = memoryview(self._mm).cast("d")
        self._hq = memoryview(self._header).cast("Q")
        self._hd = memoryview(self._header).cast("d")
        self._views = [self._q, self._s, self._d, self._hq, self._hd]
        q, s, d = self._q, self._s, self._d
        for record_offset, _size in RECORDS.values():
            self._write_record(record_offset >> 3, b"", 0)
        d[S_TS >> 3] = 0.0
        d[S_PROGRESS_TS >> 3] = 0.0
        q[S_SEQ >> 3] = 0
        s[S_STEP >> 3] = -1
        s[S_TOTAL >> 3] = -1
        q[S_DROPPED >> 3] = 0
        d[S_WAIT >> 3] = 0.0
        for index in range(80 >> 3, 128 >> 3):
            q[index] = 0
        self._rank_word = self.rank & 0xFFFFFFFF  # i32 rank, u32 flags: one u64 store
        q[S_RANK >> 3] = self._rank_word
        generation = ((q[S_PID >> 3] >> 32) + 1 & 0xFFFFFFFF) or 1  # 0 means never claimed
        q[S_PID >> 3] = (os.getpid() & 0xFFFFFFFF) | generation << 32  # pid and generation, last
        self.generation = generation
        self._head = q[S_HEAD >> 3]  # kept: a reader's position stays valid across processes
        self._mask = geometry.ring_slots - 1
        self._max_slots = min(geometry.ring_slots // 4, (MAX_RECORD_BYTES + SLOT_DATA - 1) // SLOT_DATA)
        self._closed = False
        self.connections = 1

    def _write_hello(self, hello: Dict[str, Any]) -> None:
        us = _time_ns() // 1000
        data = self._encode("hello", us, 0, hello)
        if data is None:
            raise SegmentError("the hello cannot be encoded")
        with self._lock:
            self._write_ring(data, len(data))
            self._q[S_HEAD >> 3] = self._head
            self._d[S_TS >> 3] = us / 1e6
            offset, size = RECORDS["hello"]
            if len(data) <= size - 16:
                self._write_record(offset >> 3, data, len(data))

    # -- the emitter's surface ---------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def connected(self) -> bool:
        return not self._closed

    def flush(self, timeout: float) -> bool:
        """Every emitted event is in the segment already."""
        return not self._closed

    def stop(self) -> None:
        """Stops the control thread and unmaps the segment. The file stays for readers, unless
        this process said `bye` and so did every other that claimed an area of it (a clean run
        leaves nothing behind; `RANKTOP_SHM_KEEP=1` keeps it anyway)."""
        self._stopping.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._release_mappings()
        fd, self._fd = self._fd, -1
        if fd < 0:
            return
        try:
            if self._bye and not _keeps_segments() and os.getpid() == self._pid:
                self._remove_if_every_rank_said_bye(fd)
        except Exception:  # noqa: BLE001 - at exit: never raise
            pass
        finally:
            os.close(fd)

    def _remove_if_every_rank_said_bye(self, fd: int) -> bool:
        """Under the file lock, so that of several ranks ending together the last one removes it."""
        self._lock_file(fd, 1.0)
        try:
            if not self._still_named(fd):
                return False
            geometry = self.geometry
            claimed = 0
            for index in range(geometry.rank_capacity):
                raw = os.pread(fd, 24, geometry.ranks_offset + index * geometry.rank_stride)
                _head, pid, _generation, _rank, flags = struct.unpack("<QIIiI", raw)
                if pid == 0:
                    continue
                if not flags & FLAG_BYE:
                    return False  # a rank still runs, or one ended without bye: the flight recorder stays
                claimed += 1
            if claimed:
                os.unlink(self.path)
                self.removed = True
            return bool(claimed)
        finally:
            try:
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, 0, 0)
            except OSError:
                pass

    def close(self, code: Optional[int] = None, error: Optional[str] = None) -> None:
        """`bye` (unless one was emitted), then stop."""
        if not self._bye and not self._closed:
            fields: Dict[str, Any] = {}
            if code is not None:
                fields["code"] = code
            if error:
                fields["error"] = error
            self.emit("bye", fields)
        self.stop()

    def _release_mappings(self) -> None:
        writer = self.__dict__.pop("emit", None)
        if writer is not None:
            writer.release()  # it holds the mapping; later calls of it go to the Python emit
        views, self._views = self._views, []
        for view in views:
            try:
                view.release()
            except Exception:  # noqa: BLE001
                pass
        for mapping in (self._mm, self._header):
            if mapping is not None:
                try:
                    mapping.close()
                except Exception:  # noqa: BLE001 - still exported somewhere: leave it mapped
                    pass

    # -- the training thread's side ------------------------------------------------------------------

    def emit(self, kind: str, fields: Fields = None) -> None:
        """Writes one event into the ring and the state block. Never blocks beyond the lock, never raises.

        With `_native` built, `self.emit` is a `RingWriter` (the same in C for the common events),
        which calls this method for the rest, and `_emit_at` for an event it timed but cannot encode."""
        self._emit_at(kind, _time_ns() // 1000, self._next_seq(), fields)

    def _emit_at(self, kind: str, us: int, seq: int, fields: Fields) -> None:
        try:
            # The socket emitter's line, byte for byte, for the common kinds and field types; a kind
            # or field name not seen yet, and any other value, take `_encode` (KeyError).
            data = None
            if _native is not None:
                # The same bytes in C (None: an event the code below knows and C does not).
                data = _native.encode_record(kind, us, seq, fields, self._prefixes, self._keys, self._metric_keys)
            if data is None and 999999 < us < _FAST_TS_LIMIT:
                try:
                    digits = str(us)
                    fraction = digits[-6:]
                    if fraction[-1] == "0":
                        fraction = fraction.rstrip("0") or "0"
                    parts = [self._prefixes[kind], digits[:-6], ".", fraction, ',"seq":', str(seq)]
                    if fields:
                        append = parts.append
                        keys = self._keys
                        converters = _CONVERTERS
                        if kind == "progress":
                            for name, value in fields.items():
                                append(keys[name])
                                kind_of = type(value)
                                if kind_of is int:
                                    append(str(value))
                                elif kind_of is dict and name == "metrics":
                                    append(_metrics_text(self, value))
                                else:
                                    append(converters[kind_of](value))
                        else:
                            for name, value in fields.items():
                                append(keys[name])
                                append(converters[type(value)](value))
                    parts.append("}")
                    data = "".join(parts).encode()
                except KeyError:
                    pass
            if data is None:
                data = self._encode(kind, us, seq, fields)
                if data is None:
                    self._count_drop()
                    return
            n = len(data)
            ts = us / 1e6
            lock = self._lock
            lock.acquire()
            try:
                if self._closed:
                    return
                q = self._q
                i = self._head
                if n <= SLOT_DATA:
                    self._head = i + 1  # reserved
                    at = 4096 + ((i & self._mask) << 8)  # the slot; the ring starts after the state block
                    # One call, stored in this order: stamp 0, length with k = 1, the bytes.
                    _SLOT.pack_into(self._mm, at, 0, n | 0x100000000, data)
                    q[at >> 3] = i + 1  # the stamp, last: one 8-byte store
                    q[0] = self._head
                elif self._write_ring(data, n):
                    q[0] = self._head
                else:
                    if n > MAX_RECORD_BYTES:
                        self.oversized += 1
                    self._count_drop_locked()
                    return
                self._d[3] = ts
                q[5] = seq
                update = _UPDATERS.get(kind)
                if update is not None:
                    update(self, fields, data, n, ts)
            finally:
                lock.release()
        except Exception:  # noqa: BLE001 - never into training
            self.errors += 1

    @property
    def sent(self) -> int:
        """Records written into the ring, hello included."""
        try:
            produced = int(repr(self._seq_counter)[6:-1])  # "count(N)": the next seq, so events so far with hello
        except ValueError:  # pragma: no cover
            return 0
        return max(0, produced - self.dropped - self.errors)

    def _count_drop(self) -> None:
        with self._lock:
            self._count_drop_locked()

    def _count_drop_locked(self) -> None:
        self.dropped += 1
        if not self._closed:
            self._q[S_DROPPED >> 3] = self.dropped

    def _write_ring(self, data: bytes, n: int) -> bool:
        """Writes one record at `head` (under the lock); False when it is too large for the ring."""
        k = (n + SLOT_DATA - 1) // SLOT_DATA
        if k > self._max_slots or n > MAX_RECORD_BYTES:
            return False
        q = self._q
        mm = self._mm
        i = self._head
        self._head = i + k  # reserved before the slots are written (an emit that interrupts this one writes after them)
        mask = self._mask
        view = memoryview(data)
        for j in range(k):
            index = i + j
            slot = 512 + ((index & mask) << 5)
            q[slot] = 0
            q[slot + 1] = (n | k << 32) if j == 0 else 0
            at = (slot << 3) + 16
            chunk = view[j * SLOT_DATA:(j + 1) * SLOT_DATA]
            mm[at:at + len(chunk)] = chunk
            q[slot] = index + 1
        view.release()
        return True

    def _write_record(self, index: int, data: bytes, n: int) -> None:
        """A state record at u64 index `index`: version odd, length and bytes, version even."""
        q = self._q
        version = q[index] | 1  # odd (a writer that died in between may have left it odd already)
        q[index] = version
        q[index + 1] = n
        if n:
            at = (index << 3) + 16
            self._mm[at:at + n] = data
        q[index] = version + 1

    # The state block's part of each kind (under the lock). Record u64 indices: hello 16,
    # progress 208, barrier 336, collective 400, phase 464; wait-since is d[9].

    def _on_progress(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        q = self._q
        s = self._s
        step = fields.get("step") if fields else None
        total = fields.get("total") if fields else None
        s[6] = step if type(step) is int and -1 <= step < 1 << 63 else -1
        s[7] = total if type(total) is int and -1 <= total < 1 << 63 else -1
        self._d[4] = ts
        version = q[208] | 1
        if n <= 1008:
            _RECORD_1008.pack_into(self._mm, 1664, version, n, data)  # version odd, length, bytes: in this order
        else:
            _RECORD_1008.pack_into(self._mm, 1664, version, 0, b"")
        q[208] = version + 1
        # A step ends every blocking collective the rank was in (the model's rule too).
        if self._open_collective is not None:
            self._open_collective = None
            self._collective_since = 0.0
            self._write_record(400, b"", 0)
            self._d[9] = self._barrier_since

    def _on_barrier_enter(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        q = self._q
        version = q[336] | 1
        if n <= 496:
            _RECORD_496.pack_into(self._mm, 2688, version, n, data)  # version odd, length, bytes: in this order
        else:
            _RECORD_496.pack_into(self._mm, 2688, version, 0, b"")
        q[336] = version + 1
        self._barrier_since = ts
        collective = self._collective_since
        self._d[9] = collective if collective and collective < ts else ts

    def _on_barrier_exit(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        q = self._q
        version = q[336] | 1
        q[336] = version
        q[337] = 0
        q[336] = version + 1
        self._barrier_since = 0.0
        self._d[9] = self._collective_since

    def _on_collective_enter(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        if not fields or fields.get("async"):
            return  # an async op is in flight, not waited in
        q = self._q
        version = q[400] | 1
        if n <= 496:
            _RECORD_496.pack_into(self._mm, 3200, version, n, data)  # version odd, length, bytes: in this order
        else:
            _RECORD_496.pack_into(self._mm, 3200, version, 0, b"")
        q[400] = version + 1
        self._open_collective = (fields.get("group"), fields.get("n"))
        self._collective_since = ts
        barrier = self._barrier_since
        self._d[9] = barrier if barrier and barrier < ts else ts

    def _on_collective_exit(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        open_one = self._open_collective
        if open_one is None or not fields or fields.get("group") != open_one[0]:
            return
        exit_n, open_n = fields.get("n"), open_one[1]
        # Leaving n means the rank left every earlier collective of the group too.
        if exit_n != open_n and not (type(exit_n) is int and type(open_n) is int and exit_n > open_n):
            return
        q = self._q
        version = q[400] | 1
        q[400] = version
        q[401] = 0
        q[400] = version + 1
        self._open_collective = None
        self._collective_since = 0.0
        self._d[9] = self._barrier_since

    def _on_phase_enter(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        phases = self._phases
        if len(phases) >= MAX_OPEN_PHASES:
            del phases[0]
        phases.append((fields.get("name") if fields else None, data))
        self._write_record(464, data, n if n <= 368 else 0)

    def _on_phase_exit(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        name = fields.get("name") if fields else None
        phases = self._phases
        for index in range(len(phases) - 1, -1, -1):
            if phases[index][0] == name:
                del phases[index]
                break
        else:
            return  # not a phase this process entered
        top = phases[-1][1] if phases else b""
        self._write_record(464, top, len(top) if len(top) <= 368 else 0)

    def _on_bye(self, fields: Fields, data: bytes, n: int, ts: float) -> None:
        self._bye = True
        self._q[2] = self._rank_word | FLAG_BYE << 32

    # -- encoding ------------------------------------------------------------------------------------

    def _encode(self, kind: str, us: int, seq: int, fields: Fields) -> Optional[bytes]:
        """One event's record: the socket emitter's line for it, without the newline; None when
        it cannot be written (a value JSON cannot hold, or longer than 65,536 bytes)."""
        prefix = self._prefixes.get(kind)
        if prefix is None:
            prefix = '{"kind":%s,"rank":%d,"ts":' % (_encode_string(kind), self.rank)
            if len(self._prefixes) < 256:
                self._prefixes[kind] = prefix
        if 999999 < us < _FAST_TS_LIMIT:
            digits = str(us)
            fraction = digits[-6:]
            if fraction[-1] == "0":
                fraction = fraction.rstrip("0") or "0"
            head = prefix + digits[:-6] + "." + fraction
        else:
            head = prefix + repr(round(us / 1e6, 6))
        return self._encode_slow(head, seq, fields)

    def _encode_slow(self, head: str, seq: int, fields: Fields) -> Optional[bytes]:
        """The socket emitter's field loop (`append_field_texts`), so the bytes are the same."""
        parts = [head, ',"seq":%d' % seq]
        append = parts.append
        if fields:
            try:
                encoded = append_field_texts(self, fields, append)
            except Exception:  # noqa: BLE001 - a value that breaks the encoder (a cycle, a huge int)
                encoded = None
            if encoded is None:
                self.oversized += 1
                return None
        append("}")
        data = "".join(parts).encode("ascii", "replace")
        if len(data) > MAX_RECORD_BYTES:
            self.oversized += 1
            return None
        return data

    # -- the control block ------------------------------------------------------------------------------

    def _control_loop(self) -> None:
        cursor = 0
        waiting_since: Optional[float] = None
        while not self._stopping.wait(CONTROL_POLL_SECONDS):
            self.writer_cycles += 1
            if os.getpid() != self._pid or self._closed:
                return
            tick = self.tick
            if tick is not None:
                try:
                    tick()
                except Exception:  # noqa: BLE001 - the thread must survive its helpers
                    pass
            try:
                cursor, waiting_since = self._read_controls(cursor, waiting_since)
            except ValueError:
                return  # unmapped meanwhile
            except Exception:  # noqa: BLE001
                pass

    def _read_controls(self, cursor: int, waiting_since: Optional[float]) -> Tuple[int, Optional[float]]:
        hq = self._hq
        head = hq[H_CONTROL_HEAD >> 3]
        if head == cursor:
            return cursor, waiting_since
        slots = self.geometry.control_slots
        if head < cursor:  # the segment was made anew under us
            cursor = 0
        if head - cursor > slots:
            cursor, waiting_since = head - slots, None
        while cursor < head:
            base = CONTROL_OFFSET + (cursor % slots) * CONTROL_SLOT_BYTES
            index = base >> 3
            stamp = hq[index]
            if stamp != cursor + 1:
                if stamp < cursor + 1:  # a writer between its claim and its stamp
                    now = _monotonic()
                    if waiting_since is None:
                        waiting_since = now
                    if now - waiting_since < INCOMPLETE_CONTROL_SLOT_SECONDS:
                        break
                cursor, waiting_since = cursor + 1, None  # overwritten, or never completed: skipped
                continue
            word = hq[index + 1]
            target = word & 0xFFFFFFFF
            if target >= 0x80000000:
                target -= 0x100000000
            length = word >> 32
            sent_at = self._hd[index + 2]
            raw = self._header[base + 24:base + 24 + length] if length <= CONTROL_DATA else None
            torn = hq[index] != stamp
            cursor, waiting_since = cursor + 1, None
            if raw is None or torn or (target != -1 and target != self.rank):
                continue
            self._deliver(raw, sent_at)
        return cursor, waiting_since

    def _deliver(self, raw: bytes, sent_at: float) -> None:
        if self._on_control is None:
            return
        try:
            message = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        kind = message.get("kind")
        now = time.time()
        if kind == "stack.req" and now - sent_at > STACK_REQUEST_MAX_AGE_SECONDS:
            return
        if kind == "inject" and self._started_ts - sent_at > INJECT_MAX_AGE_SECONDS:
            return
        self.controls += 1
        try:
            self._on_control(message)
        except Exception:  # noqa: BLE001 - a bad control line must not end the thread
            pass


# What each kind does to the state block, beyond the last ts and seq (called under the lock).
_UPDATERS: Dict[str, Callable[..., None]] = {
    "progress": SharedMemoryEmitter._on_progress,
    "barrier.enter": SharedMemoryEmitter._on_barrier_enter,
    "barrier.exit": SharedMemoryEmitter._on_barrier_exit,
    "collective.enter": SharedMemoryEmitter._on_collective_enter,
    "collective.exit": SharedMemoryEmitter._on_collective_exit,
    "phase.enter": SharedMemoryEmitter._on_phase_enter,
    "phase.exit": SharedMemoryEmitter._on_phase_exit,
    "bye": SharedMemoryEmitter._on_bye,
}


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return default
