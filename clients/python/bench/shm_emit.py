"""What one `emit` costs the training thread: the socket emitter next to the shared-memory writer.

    ~/.cache/ranktop/venv/bin/python clients/python/bench/shm_emit.py

One run, side by side, on the calling thread: the socket `Emitter.emit` (a stamp and an append to
its queue; its writer thread encodes and sends to a Unix socket drained by a listener this script
runs in another process) and `SharedMemoryEmitter.emit` (encoding, the ring slots, `head` and the
state block, all on the calling thread; the segment under a temporary RANKTOP_SHM_DIR). Events: a
`progress` with a total and one metric, and a `barrier.enter` with a name and a site, the fields
`_runtime` gives them.

- emit, median ns: the median over batches of the mean per-call time in a batch, on the calling
  thread (300 batches of 100 calls, 2 ms pauses between batches, as a training step's compute
  would leave: the socket writer keeps up, so its figure is the cost of a queued event, not of a
  drop). The two emitters' batches alternate, so a noisy machine affects both alike.
- no-op call: the same batches calling `{}.get(kind, fields)`, a C call that does nothing: the
  floor of this way of timing (the loop, the call, and caches a 2 ms pause left cold).
- back to back: the shm writer's mean per call over 5,000 calls with no pause (caches warm),
  median of 15 runs.
- all, CPU ns/event: process CPU time (every thread: the socket writer's encoding and sends too)
  from the first emit of 300 batches until the emitter wrote the last one, per event. Sleeps cost
  no CPU; the shm control thread's 50 ms look and the socket writer's timer are included.

`--quick` runs fewer batches (for a smoke test).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCHES = 300
PER_BATCH = 100
PAUSE_SECONDS = 0.002

DRAIN = """
import socket, sys, threading
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1]); server.listen(8)
print("ready", flush=True)
def drain(conn):
    while conn.recv(1 << 20):
        pass
while True:
    conn, _ = server.accept()
    threading.Thread(target=drain, args=(conn,), daemon=True).start()
"""

HELLO = {"v": 1, "run": "bench", "world": 8, "local_rank": 3, "local_world": 8, "node": socket.gethostname(),
         "pid": os.getpid(), "runtime": "accelerate/1.15.0 torch/2.15.0", "caps": ["inject", "stack"]}

EVENTS = {
    "progress (step, total, 1 metric)": ("progress", lambda step: {"step": step, "total": 100000,
                                                                   "metrics": {"loss": 0.25 + step * 1e-6}}),
    "barrier.enter (n, name, site)": ("barrier.enter", lambda step: {"n": step, "name": "train.py:88",
                                                                    "site": "train.py:88"}),
    "collective.enter (an all_reduce's fields)": ("collective.enter", lambda step: {
        "group": "world", "n": step, "op": "all_reduce", "size": 2, "bytes": 16, "dtype": "float32",
        "site": "train.py:88"}),
    "collective.exit (group, n, op)": ("collective.exit", lambda step: {"group": "world", "n": step, "op": "all_reduce"}),
}


def measure(emitters, kind, make_fields, batches):
    """Median over batches of the mean ns per emit, for each emitter; the emitters' batches
    alternate (first one, then the other), so both see the same machine. Fields are built before
    each batch is timed."""
    clock = time.perf_counter_ns
    means = [[] for _ in emitters]
    step = 0
    for batch in range(batches + 5):
        order = list(range(len(emitters))) if batch % 2 == 0 else list(reversed(range(len(emitters))))
        for index in order:
            fields = [make_fields(step + j) for j in range(PER_BATCH)]
            step += PER_BATCH
            emit = emitters[index].emit
            start = clock()
            for f in fields:
                emit(kind, f)
            elapsed = clock() - start
            if batch >= 5:  # warm-up batches
                means[index].append(elapsed / PER_BATCH)
            time.sleep(PAUSE_SECONDS)
    return [statistics.median(m) for m in means]


class _NoOp:
    """The floor: a C call that does nothing with the same arguments (`{}.get(kind, fields)`),
    timed in the same batches; what is left above it is the emit's own."""

    emit = {}.get


def back_to_back(emitter, kind, make_fields, runs=15, calls=5000) -> float:
    """Median over runs of the mean ns per emit with no pause between calls (caches warm)."""
    clock = time.perf_counter_ns
    means = []
    for run in range(runs + 2):
        fields = [make_fields(j) for j in range(calls)]
        emit = emitter.emit
        start = clock()
        for f in fields:
            emit(kind, f)
        if run >= 2:
            means.append((clock() - start) / calls)
    return statistics.median(means)


def cpu_per_event(emitter, kind, make_fields, batches) -> float:
    """CPU ns per event of every thread of this process (the socket emitter's writer encoding and
    sending included), from the first emit until the emitter has written everything."""
    fields = [make_fields(j) for j in range(PER_BATCH)]
    start = time.process_time_ns()
    for _ in range(batches):
        for f in fields:
            emitter.emit(kind, f)
        time.sleep(PAUSE_SECONDS)
    emitter.flush(10.0)
    return (time.process_time_ns() - start) / (batches * PER_BATCH)


def main() -> None:
    batches = 30 if "--quick" in sys.argv else BATCHES
    directory = tempfile.mkdtemp(prefix="ranktop-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    path = os.path.join(directory, "drain.sock")
    drain = subprocess.Popen([sys.executable, "-c", DRAIN, path], stdout=subprocess.PIPE, text=True)
    try:
        assert drain.stdout.readline().strip() == "ready"
        os.environ["RANKTOP_SHM_DIR"] = directory
        from ranktop._address import parse_address
        from ranktop._emitter import Emitter
        from ranktop._shm import SharedMemoryEmitter
        from ranktop._transport import transport_for

        sock = Emitter(transport_for(parse_address("unix:" + path)), 3, dict(HELLO))
        sock.start()
        deadline = time.monotonic() + 5
        while not sock.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        shm = SharedMemoryEmitter("bench", 3, dict(HELLO))
        shm.start()
        print("python %s, %s; %d batches of %d calls" % (sys.version.split()[0], sys.platform, batches, PER_BATCH))
        print("shm writer: %s" % ("C (RingWriter)" if type(shm.__dict__.get("emit")).__name__ == "RingWriter" else "Python"))
        row = "%-34s %10s %12s %12s %14s %12s %12s"
        numbers = "%-34s %10.0f %12.0f %12.0f %14.0f %12.0f %12.0f"
        print(row % ("", "no-op call", "socket emit", "shm emit", "shm emit,", "socket, all", "shm, all"))
        print(row % ("", "median ns", "median ns", "median ns", "back to back", "CPU ns/event", "CPU ns/event"))
        for label, (kind, make_fields) in EVENTS.items():
            floor_ns, sock_ns, shm_ns = measure((_NoOp(), sock, shm), kind, make_fields, batches)
            tight_ns = back_to_back(shm, kind, make_fields)
            cpu_ns = [cpu_per_event(emitter, kind, make_fields, batches) for emitter in (sock, shm)]
            print(numbers % (label, floor_ns, sock_ns, shm_ns, tight_ns, cpu_ns[0], cpu_ns[1]))
        print("socket: %d dropped; shm: %d dropped, %d errors, %d records" % (sock.dropped, shm.dropped, shm.errors,
                                                                            shm.sent))
        sock.stop()
        shm.stop()
    finally:
        drain.kill()
        drain.wait()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
