"""What ranktop costs the training thread, next to what a user would do instead.

    OMP_NUM_THREADS=1 ~/.cache/ranktop/venv/bin/python clients/python/bench/bench_training_thread.py

Needs accelerate (the instrumented barrier) and tqdm (`pip install tqdm` in the venv; the bench
alone uses it). Each figure is the median over batches of the mean per-call time in a batch, on
the calling thread; ranktop's writer thread and the collector's reader are running meanwhile (the
collector in another process, so only the emitter's own thread competes for the GIL).

Measured:
- ranktop.progress(step, loss=...) with a collector draining the socket;
- an instrumented barrier beyond the wait itself: PartialState.wait_for_everyone on a one-process
  state (where Accelerate's barrier returns at once), patched minus unpatched, called the way user
  code does (accelerator.wait_for_everyone(), which walks Accelerate's frames to find the site);
- logging.info to a file, tqdm.update(1), json.dumps + socket.sendall of the same event.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCHES = 300
# 100 calls, then 2 ms without events (a training step's compute): ~50k events/s, a rate the
# writer thread keeps up with, so the figure is the cost of a queued event, not of a drop.
PER_BATCH = 100
PAUSE_SECONDS = 0.002

DRAIN = """
import socket, sys
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(sys.argv[1]); server.listen(8)
print("ready", flush=True)
import threading
def drain(conn):
    while conn.recv(1 << 20):
        pass
while True:
    conn, _ = server.accept()
    threading.Thread(target=drain, args=(conn,), daemon=True).start()
"""


def measure(call) -> float:
    """Median over batches of the mean time per call, in microseconds."""
    for _ in range(PER_BATCH):
        call()
    means = []
    clock = time.perf_counter_ns
    for _ in range(BATCHES):
        start = clock()
        for _ in range(PER_BATCH):
            call()
        means.append((clock() - start) / PER_BATCH / 1000)
        time.sleep(PAUSE_SECONDS)
    return statistics.median(means)


def start_drain(directory: str) -> tuple:
    path = os.path.join(directory, "drain.sock")
    process = subprocess.Popen([sys.executable, "-c", DRAIN, path], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process, path


def main() -> None:
    directory = tempfile.mkdtemp(prefix="ranktop-bench-")
    drain, path = start_drain(directory)
    os.environ["RANKTOP_ADDR"] = "unix:" + path
    os.environ.setdefault("RANKTOP_RUN", "bench")
    try:
        import ranktop
        from ranktop._state import state

        assert ranktop.instrument()
        from accelerate import Accelerator
        from accelerate.state import PartialState

        accelerator = Accelerator(cpu=True)
        deadline = time.monotonic() + 10
        while not state.emitter.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        rows = []

        step = [0]

        def progress():
            step[0] += 1
            ranktop.progress(step[0], loss=0.25)

        rows.append(("ranktop.progress(step, loss=x)", measure(progress), "<= 3 us"))
        dropped_by_progress = ranktop.stats()["dropped"]

        barrier = accelerator.wait_for_everyone
        patched = measure(barrier)
        wrapper = PartialState.wait_for_everyone
        PartialState.wait_for_everyone = wrapper.__ranktop_original__
        unpatched = measure(barrier)
        PartialState.wait_for_everyone = wrapper
        rows.append(("instrumented barrier, beyond the wait", patched - unpatched, "<= 15 us"))
        rows.append(("  (accelerator.wait_for_everyone() patched / unpatched)", None,
                     "%.2f / %.2f us" % (patched, unpatched)))

        log_path = os.path.join(directory, "train.log")
        logger = logging.getLogger("bench")
        handler = logging.FileHandler(log_path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        rows.append(("logging.info to a file", measure(lambda: logger.info("step %d loss %.4f", step[0], 0.25)), ""))

        try:
            from tqdm import tqdm
        except ImportError:
            sys.exit("tqdm is missing: pip install tqdm (in the venv), then run again")
        with open(os.devnull, "w") as sink:
            bar = tqdm(total=10 ** 9, file=sink)
            rows.append(("tqdm.update(1)", measure(lambda: bar.update(1)), ""))
            bar.close()

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)

        def dumps_and_send():
            step[0] += 1
            event = {"kind": "progress", "rank": 0, "ts": time.time(), "seq": step[0], "step": step[0],
                     "metrics": {"loss": 0.25}}
            sock.sendall((json.dumps(event) + "\n").encode())

        rows.append(("json.dumps + socket.sendall (unix)", measure(dumps_and_send), ""))

        stats = ranktop.stats()
        # What a process without RANKTOP_ADDR pays: the same function, reporting off.
        live = state.emitter
        state.emitter, state.disabled = None, True
        rows.append(("ranktop.progress(step, loss=x) without RANKTOP_ADDR", measure(progress), ""))
        state.emitter, state.disabled = live, False
        print("%-58s %10s   %s" % ("on the training thread, per call", "median", "target"))
        for name, value, note in rows:
            figure = "%8.2f us" % value if value is not None else ""
            print("%-58s %10s   %s" % (name, figure, note))
        print("ranktop emitter: %d events sent, %d dropped (%d of them during the progress figure), %d adapter errors"
              % (stats["sent"], stats["dropped"], dropped_by_progress, stats["errors"]))
        print("python %s, %d cores" % (sys.version.split()[0], os.cpu_count() or 0))
    finally:
        drain.kill()


if __name__ == "__main__":
    main()
