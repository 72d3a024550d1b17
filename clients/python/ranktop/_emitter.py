"""The protocol-v1 emitter: a bounded queue filled by the training thread, drained by a writer thread.

The training thread only takes a lock, stamps the event and appends it (or counts a drop when
the queue is full). Encoding, sending, reconnecting and heartbeats all happen on the writer
thread; control lines are read by one reader thread per connection. `seq` counts every event the
rank produced, dropped ones included, so the collector sees each loss as a gap.
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
CONNECT_TIMEOUT_SECONDS = 2.0
BACKOFF_FIRST_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 2.0
BATCH_EVENTS = 512
# A connection the collector closes this soon after our hello was refused (a wrong token, say).
REFUSED_WITHIN_SECONDS = 3.0
REFUSALS_BEFORE_WARNING = 3

_time = time.time


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
        self._transport = transport
        self._on_control = on_control
        self._queue: Deque[Item] = deque()
        self._lock = threading.Lock()
        self._seq = 1  # hello is seq 0
        self._wake = threading.Event()
        self._idle = False
        self._stopping = False
        self._connection: Optional[Connection] = None
        self._connection_broken = False
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
        with self._lock:
            seq = self._seq
            self._seq = seq + 1
            if len(self._queue) >= self.capacity:
                self.dropped += 1
                return
            self._queue.append((kind, ts, seq, fields))
        if self._idle:
            self._idle = False
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
            batch = self._take_batch()
            if batch:
                self._send_batch(batch)
                continue
            idle_for = time.monotonic() - self._last_send
            if idle_for >= HEARTBEAT_AFTER_SECONDS:
                self.emit("heartbeat")
                continue
            self._wake.clear()
            self._idle = True
            if not self._queue:
                self._wake.wait(HEARTBEAT_AFTER_SECONDS - idle_for)
            self._idle = False
        self._drop_connection()

    def _sleep(self, seconds: float) -> None:
        # A stop request ends the backoff early; new events do not (they would just queue up).
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(0.02, seconds))

    def _connect(self) -> bool:
        try:
            connection = self._transport.connect(CONNECT_TIMEOUT_SECONDS)
        except OSError:
            return False
        try:
            connection.send(self._hello_line)
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
        lines = []
        for item in batch:
            line = self._encode(item)
            if line is None:
                self.oversized += 1
            else:
                lines.append(line)
        connection = self._connection
        try:
            if lines and connection is not None:
                connection.send(b"".join(lines))
        except OSError:
            # The batch is lost with the connection; the seq gap tells the collector how much.
            self._connection_broken = True
            return
        self.sent += len(lines)
        self._sent_seq = batch[-1][2]
        self._last_send = time.monotonic()

    def _encode(self, item: Item) -> Optional[bytes]:
        kind, ts, seq, fields = item
        event: Dict[str, Any] = {"kind": kind, "rank": self.rank, "ts": round(ts, 6), "seq": seq}
        if fields:
            event.update(fields)
            metrics = fields.get("metrics")
            if metrics is not None:
                event["metrics"] = clean_metrics(metrics)
        try:
            text = json.dumps(event, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            try:
                text = json.dumps(_jsonable(event), separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError):
                return None
        data = text.encode("utf-8", "replace")
        if len(data) > MAX_LINE_BYTES:
            return None
        return data + b"\n"

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
