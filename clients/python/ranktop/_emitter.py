"""The protocol-v1 emitter: a bounded queue filled by the training thread, drained by a writer thread.

The training thread only takes a lock, stamps the event and appends it; when the queue is full the
OLDEST queued event makes room and is counted as dropped (the Swift emitter's policy: the newest
state of the rank is what the dashboard needs). Encoding, sending, reconnecting and heartbeats all
happen on the writer thread; control lines are read by one reader thread per connection, blocked
in recv until a line arrives. `seq` counts every event the rank produced, dropped ones included,
so the collector sees each loss as a gap.

Wake-ups (docs/benchmarks.md, "Python adapter: step time"): waking the writer hands the GIL to it
and back, which costs the training thread far more than queueing the event. So while events flow
the writer sends on a timer, every FLUSH_INTERVAL_SECONDS, and `emit` never wakes it; only a
writer that found the queue empty and went idle is woken, by the first event after that. At most
one wake-up per idle period, never one per event; an event waits at most one interval (plus the
send) before it leaves. Heartbeats are sent only after HEARTBEAT_AFTER_SECONDS without any send.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Tuple

from ._transport import MAX_LINE_BYTES, Connection, Transport

Fields = Optional[Dict[str, Any]]
Item = Tuple[str, float, int, Fields]

HEARTBEAT_AFTER_SECONDS = 2.0
# While events flow, the writer sends what queued up this often (the dashboard's budget from
# emit to screen is 150 ms; this keeps emit-to-collector well under 50 ms).
FLUSH_INTERVAL_SECONDS = 0.02


def _until_next_tick() -> float:
    """Seconds to the next multiple of FLUSH_INTERVAL_SECONDS on the wall clock.

    Every rank of a host sends at the same ticks, so one wake of the collector reads several
    ranks' sends (at random phases, each send was a wake of its own: 40-50 us of the collector's
    CPU on a VM). An event still waits at most one interval.
    """
    return FLUSH_INTERVAL_SECONDS - (time.time() % FLUSH_INTERVAL_SECONDS)
CONNECT_TIMEOUT_SECONDS = 2.0
BACKOFF_FIRST_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 2.0
# The newest batches already handed to a connection, about this many bytes, are sent again first on
# the next connection: a collector that died loses what it had read but not logged. The collector
# keeps the first copy of each seq, so what did reach the log is skipped (docs/protocol.md).
RETAINED_BYTES = 256 * 1024
# Events encoded per send: the writer holds the GIL while it encodes a batch (about 1 us an
# event), so a small batch bounds how long the training thread can wait for the GIL.
BATCH_EVENTS = 128
# A connection the collector closes this soon after our hello was refused (a wrong token, say).
REFUSED_WITHIN_SECONDS = 3.0
REFUSALS_BEFORE_WARNING = 3

_time = time.time
_monotonic = time.monotonic

try:
    from json.encoder import c_encode_basestring_ascii as _encode_string  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython always has it
    _encode_string = None
if _encode_string is None:  # pragma: no cover
    from json.encoder import py_encode_basestring_ascii as _encode_string  # type: ignore[assignment]

# The batch encoder in C, when built (`python setup.py build_ext --inplace`, which
# scripts/test-python runs); the same bytes as `_encode_batch_in_python`. Off with
# RANKTOP_PYTHON_ENCODER=1 (to compare the two).
try:
    if os.environ.get("RANKTOP_PYTHON_ENCODER") == "1":
        raise ImportError
    from . import _native  # type: ignore[attr-defined]
except ImportError:
    _native = None

_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_INFINITY = float("inf")


class Emitter:
    """Streams events for one rank. Thread-safe `emit`; everything else runs on its own threads."""

    def __init__(
        self,
        transport: Transport,
        rank: int,
        hello: Dict[str, Any],
        capacity: int = 8192,
        on_control: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> None:
        self.rank = rank
        self.capacity = capacity
        self.dropped = 0  # events that never reached the queue (it was full)
        self.oversized = 0  # events whose encoded line would exceed the protocol's line limit
        self.sent = 0  # lines handed to a connection, hello lines included
        self.connections = 0  # successful connects, the first included
        self.wakeups = 0  # times an emit woke the idle writer
        self.writer_cycles = 0  # times the writer thread woke up, for any reason
        # Called on the writer thread each cycle: emits what completed meanwhile (async collectives'
        # exits) and returns True while something is still pending, which keeps the writer on its
        # flush timer instead of parking it.
        self.tick: Optional[Callable[[], bool]] = None
        self._transport = transport
        self._on_control = on_control
        self._queue: Deque[Item] = deque()
        self._lock = threading.Lock()
        self._seq = 1  # hello is seq 0
        self._wake = threading.Event()  # set by the first emit to an idle writer, flush, stop
        self._stopped = threading.Event()  # set by stop() only: ends a reconnect backoff early
        self._prefixes: Dict[str, str] = {}  # kind -> '{"kind":"x","rank":N,"ts":'
        self._keys: Dict[str, str] = {}  # field name -> ',"name":'
        self._metric_keys: Dict[Any, str] = {}  # metric name -> '"name":'
        self._idle = False
        self._stopping = False
        self._connection: Optional[Connection] = None
        self._connection_broken = False
        self._sent_batches: Deque[bytes] = deque()  # see RETAINED_BYTES
        self._sent_bytes = 0
        self._last_send = 0.0
        self._connected_at = 0.0
        self._refusals = 0
        self._warned_refused = False
        self._pid = os.getpid()
        self._hello_line = self._encode(("hello", _time(), 0, hello))
        self._thread = threading.Thread(target=self._write_loop, name="ranktop-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- the training thread's side ------------------------------------------------------------

    def emit(self, kind: str, fields: Fields = None) -> None:
        """Queues one event; never blocks beyond the queue's lock, never raises for a full queue."""
        ts = _time()
        queue = self._queue
        with self._lock:
            seq = self._seq
            self._seq = seq + 1
            if len(queue) >= self.capacity:
                # Drop the oldest: the newest events describe where the rank is now.
                queue.popleft()
                self.dropped += 1
            queue.append((kind, ts, seq, fields))
        if self._idle:
            # Only a writer parked with an empty queue is woken; one that flushes on its timer
            # picks this event up at its next tick.
            self._idle = False
            self.wakeups += 1
            self._wake.set()

    def flush(self, timeout: float) -> bool:
        """Waits (bounded) until everything queued so far was sent; False when it was not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            target = self._seq - 1
        self._wake.set()
        while time.monotonic() < deadline:
            if self._sent_seq >= target or not self._thread.is_alive():
                return self._sent_seq >= target
            if self._connection is None and time.monotonic() > deadline - timeout / 2:
                return False  # not connected halfway through: do not hold the exit any longer
            time.sleep(0.005)
        return False

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self._connection is not None

    # -- the writer thread ---------------------------------------------------------------------

    _sent_seq = 0

    def _write_loop(self) -> None:
        backoff = BACKOFF_FIRST_SECONDS
        while not self._stopping:
            if os.getpid() != self._pid:
                return
            if self._connection is None or self._connection_broken:
                if self._connection is not None:
                    lived = time.monotonic() - self._connected_at
                    self._drop_connection()
                    if lived < REFUSED_WITHIN_SECONDS:
                        # Closed as soon as we said hello: the collector refuses this rank. Back
                        # off as if nobody listened, rather than reconnect in a tight loop.
                        self._note_refusal()
                        self._sleep(backoff)
                        backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                    else:
                        self._refusals = 0
                        backoff = BACKOFF_FIRST_SECONDS
                if not self._connect():
                    self._sleep(backoff)
                    backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
                    continue
            waiting = False
            tick = self.tick
            if tick is not None:
                try:
                    waiting = tick()
                except Exception:  # noqa: BLE001 - the writer must survive its helpers
                    waiting = False
            batch = self._take_batch()
            if batch:
                self._send_batch(batch)
                if len(batch) < BATCH_EVENTS and not self._stopping:
                    # Events are flowing: send again in one interval, whatever arrives meanwhile.
                    self._wake.clear()
                    self._wake.wait(_until_next_tick())
                    self.writer_cycles += 1
                continue
            idle_for = _monotonic() - self._last_send
            if idle_for >= HEARTBEAT_AFTER_SECONDS:
                self.emit("heartbeat")
                continue
            if waiting and not self._stopping:
                # Async work pending: look again in one interval (no wake-up per event).
                self._wake.clear()
                self._wake.wait(_until_next_tick())
                self.writer_cycles += 1
                continue
            self._wake.clear()
            self._idle = True
            if not self._queue:
                self._wake.wait(HEARTBEAT_AFTER_SECONDS - idle_for)
                self.writer_cycles += 1
            self._idle = False
        self._drop_connection()

    def _sleep(self, seconds: float) -> None:
        # A stop request ends the backoff early; new events do not (they would just queue up).
        # One timed wait, not a polling loop: a rank without a collector wakes once per attempt.
        self._stopped.wait(seconds)
        self.writer_cycles += 1

    def _connect(self) -> bool:
        try:
            connection = self._transport.connect(CONNECT_TIMEOUT_SECONDS)
        except OSError:
            return False
        try:
            connection.send(self._hello_line)
            if self._sent_batches:
                retained = b"".join(self._sent_batches)
                self._sent_batches.clear()
                self._sent_bytes = 0
                self._retain(retained)
                connection.send(retained)
        except OSError:
            connection.close()
            return False
        self.sent += 1
        self.connections += 1
        self._last_send = self._connected_at = time.monotonic()
        self._connection_broken = False
        self._connection = connection
        reader = threading.Thread(target=self._read_loop, args=(connection,), name="ranktop-control", daemon=True)
        reader.start()
        return True

    def _note_refusal(self) -> None:
        self._refusals += 1
        if self._refusals >= REFUSALS_BEFORE_WARNING and not self._warned_refused:
            self._warned_refused = True
            try:
                sys.stderr.write(
                    "ranktop: the collector at %s closes this rank's connection right after hello "
                    "(is RANKTOP_TOKEN right?); still retrying, training is not affected\n" % (self._transport,))
            except Exception:  # noqa: BLE001
                pass

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _take_batch(self):
        queue = self._queue
        batch = []
        try:
            for _ in range(BATCH_EVENTS):
                batch.append(queue.popleft())
        except IndexError:
            pass
        return batch

    def _send_batch(self, batch) -> None:
        data, count = self._encode_batch(batch)
        connection = self._connection
        if count:
            self._retain(data)
        try:
            if count and connection is not None:
                connection.send(data)
        except OSError:
            # Sent again on the next connection with the retained batches (what the collector
            # already logged of it is skipped there).
            self._connection_broken = True
            return
        self.sent += count
        self._sent_seq = batch[-1][2]
        self._last_send = time.monotonic()

    def _retain(self, data: bytes) -> None:
        batches = self._sent_batches
        batches.append(data)
        self._sent_bytes += len(data)
        # Whole batches only (so whole lines), the oldest first, keeping at least RETAINED_BYTES.
        while len(batches) > 1 and self._sent_bytes - len(batches[0]) >= RETAINED_BYTES:
            self._sent_bytes -= len(batches.popleft())

    def _encode(self, item: Item) -> Optional[bytes]:
        """One event's line (the hello, tests); None when it cannot be sent."""
        data, count = self._encode_batch([item])
        return data if count else None

    def _encode_batch(self, batch) -> Tuple[bytes, int]:
        """The lines of a batch, joined: (bytes, lines): in C when `_native` is built (the common
        events; any other goes through `_encode_one`), else in Python."""
        if _native is not None:
            return _native.encode_batch(batch, self._prefixes, self._keys, self._metric_keys, self._encode_one)
        return self._encode_batch_in_python(batch)

    def _encode_one(self, item: Item) -> Optional[bytes]:
        """One item's line by the Python encoder (which fills the caches and counts oversize
        lines); None when it cannot be sent."""
        data, count = self._encode_batch_in_python([item])
        return data if count else None

    def _encode_batch_in_python(self, batch) -> Tuple[bytes, int]:
        """The lines of a batch, joined: (bytes, lines). Pre-built prefixes per kind, cached
        field-name prefixes and per-value formatting into one list, one join for the batch; json's
        encoder only for values other than numbers, strings, bools and None. Runs on the writer
        thread holding the GIL: every microsecond here is one the training thread may wait for.
        Every piece is ASCII (strings are escaped), so characters count bytes."""
        prefixes = self._prefixes
        parts: list = []
        append = parts.append
        count = 0
        for kind, ts, seq, fields in batch:
            prefix = prefixes.get(kind)
            if prefix is None:
                prefix = '{"kind":%s,"rank":%d,"ts":' % (_encode_string(kind), self.rank)
                prefixes[kind] = prefix
            start = len(parts)
            append(prefix)
            append(repr(round(ts, 6)) if ts - ts == 0 else "0")
            append(',"seq":%d' % seq)
            if fields:
                long_text = append_field_texts(self, fields, append)
                if long_text is None:
                    del parts[start:]
                    self.oversized += 1
                    continue
                if long_text and sum(map(len, parts[start:])) + 1 > MAX_LINE_BYTES:  # + the '}'
                    del parts[start:]
                    self.oversized += 1
                    continue
            append("}\n")
            count += 1
        return "".join(parts).encode("ascii", "replace"), count

    def _metrics_text(self, metrics: Dict[str, Any]) -> str:
        """`clean_metrics` and its JSON in one pass: numbers as floats, non-finite ones null."""
        keys = self._metric_keys
        out = []
        items = metrics.items() if len(metrics) <= 256 else list(metrics.items())[:256]
        for name, value in items:
            kind = type(value)
            if kind is float:
                number = repr(value) if value - value == 0 else "null"
            elif kind is int:
                try:
                    number = repr(float(value))
                except OverflowError:  # past a float's range: not a number a chart can show
                    number = "null"
            else:
                cleaned = _number(value)
                if cleaned is _SKIP:
                    continue
                number = "null" if cleaned is None or cleaned - cleaned != 0 else repr(cleaned)
            key = keys.get(name)
            if key is None:
                key = _encode_string(str(name)[:200]) + ":"
                if len(keys) < 1024:
                    keys[name] = key
            out.append(key + number)
        return "{" + ",".join(out) + "}"

    # -- the reader thread -----------------------------------------------------------------------

    def _read_loop(self, connection: Connection) -> None:
        for raw in connection.lines():
            if self._on_control is None:
                continue
            try:
                message = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                continue
            if isinstance(message, dict):
                try:
                    self._on_control(message)
                except Exception:  # noqa: BLE001 - a bad control line must not end the reader
                    pass
        if connection is self._connection:
            self._connection_broken = True
            self._wake.set()


def clean_metrics(metrics: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """Numbers only (non-finite ones become null, as the protocol reads them); other values are skipped."""
    cleaned: Dict[str, Optional[float]] = {}
    for name, value in list(metrics.items())[:256]:
        number = _number(value)
        if number is _SKIP:
            continue
        cleaned[str(name)[:200]] = number if number is None or math.isfinite(number) else None
    return cleaned


_SKIP = object()


def append_field_texts(emitter: "Emitter", fields: Dict[str, Any], append: Callable[[str], None]) -> Optional[bool]:
    """Appends `,"name":value` for every field (keys' text cached in `emitter._keys`, metrics by
    `Emitter._metrics_text`): the one field loop of both emitters. None when a value cannot be
    encoded (what was appended is then the caller's to drop); else whether a value was long
    (over 1,024 characters)."""
    keys = emitter._keys
    long_text = False
    for name, value in fields.items():
        key = keys.get(name)
        if key is None:
            key = "," + _encode_string(str(name)) + ":"
            if len(keys) < 1024:
                keys[name] = key
        append(key)
        kind_of = type(value)
        if kind_of is int:
            append(str(value))
            continue
        if kind_of is bool:
            append("true" if value else "false")
            continue
        if name == "metrics" and kind_of is dict:
            text = Emitter._metrics_text(emitter, value)
        else:
            text = _value_text(value)
            if text is None:
                return None
        if len(text) > 1024:
            long_text = True
        append(text)
    return long_text


def _value_text(value: Any) -> Optional[str]:
    """JSON for one field's value; non-finite floats become null; None when it cannot be encoded."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return _encode_string(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is float:
        return repr(value) if value - value == 0 else "null"
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError):
        try:
            return _ENCODER.encode(_jsonable(value))
        except (TypeError, ValueError):
            return None


def _number(value: Any):
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if value is None:
        return None
    item = getattr(value, "item", None)
    if item is None:
        return _SKIP
    # A tensor on an accelerator would synchronise the device from this thread: skip those.
    device = getattr(value, "device", None)
    if device is not None and getattr(device, "type", "cpu") != "cpu":
        return _SKIP
    try:
        numel = getattr(value, "numel", None)
        if numel is not None and numel() != 1:
            return _SKIP
        result = item()
        return float(result) if isinstance(result, (int, float)) else _SKIP
    except Exception:  # noqa: BLE001
        return _SKIP


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
