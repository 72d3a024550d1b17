"""The longest time the adapter holds the training thread, per call, beyond the wrapped call (issue 10).

    OMP_NUM_THREADS=1 RANKTOP_BIN=/path/to/ranktop ~/.cache/ranktop/venv/bin/python \
        clients/python/bench/bench_stalls.py [--seconds 15]

One process per scenario, each with a real Accelerate one-process state and the adapter on:
- present:   a `ranktop serve` collector reading the Unix socket;
- absent:    RANKTOP_ADDR names a socket nobody listens on (the writer backs off and retries);
- stopped:   the collector is SIGSTOPped one second in (the socket buffer fills, sends block in the
             writer thread until SO_SNDTIMEO, the queue fills and drops its oldest);
- flooded:   progress() in a tight loop with the collector present: far more events than the
             writer sends, so the queue stays full and every call drops the oldest;
- slow:      a collector stand-in (this script, --slow-reader) that reads 4 KiB every 100 ms
             (40 KiB/s, far less than the paced loop sends): the socket buffer fills, the
             writer thread's sends wait in the kernel, the queue fills and drops its oldest;
- shm-absent:  RANKTOP_ADDR=shm://NAME and no reader at all (emit writes the ring itself, on the
               training thread; a full ring overwrites its oldest records);
- shm-present: the segment drained by `ranktop relay --segment NAME` into a `ranktop serve`;
- shm-stopped: that relay SIGSTOPped, as in `stopped` (the writer never waits for a reader, so
               this is the slowest reader there is);
- shm-flooded: progress() in a tight loop into the segment, the relay present.
The segments (/dev/shm/ranktop-NAME) are removed afterwards: the child exits without `bye`.
Paced scenarios repeat: emit(), ranktop.progress(), PartialState.wait_for_everyone() (the
patched method), the same work without ranktop, a no-op call, then 0.5 ms of sleep (a training
step's GIL-free compute). Every call is timed on its own; for the barrier the wrapped original's
own time is subtracted. "Same work" builds the event's dict and tuple and appends it to a locked
deque, as emit does, with no ranktop thread around: it shows what the machine (a shared 2-core
machine preempts now and then) and the garbage collector do to any call of that length. GC passes
are timed with gc.callbacks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADAPTER = Path(__file__).resolve().parents[1]


def child(scenario: str, seconds: float) -> None:
    sys.path.insert(0, str(ADAPTER))
    import accelerate.state

    inner = [0]
    original = accelerate.state.PartialState.wait_for_everyone

    def timed_original(self, *args, **kwargs):  # the wrapped call: its time is not the adapter's
        start = time.perf_counter_ns()
        result = original(self, *args, **kwargs)
        inner[0] = time.perf_counter_ns() - start
        return result

    accelerate.state.PartialState.wait_for_everyone = timed_original
    import ranktop
    from ranktop._state import state

    ranktop.instrument()
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    partial_state = accelerate.state.PartialState()
    emitter = state.emitter
    assert emitter is not None, "the adapter did not start"
    clock = time.perf_counter_ns
    names = ["emit", "progress", "barrier", "same_work", "noop"]
    worst = {n: 0 for n in names}
    over = {n: 0 for n in names}
    counts = {n: 0 for n in names}
    samples = {n: [] for n in names}

    def note(name, ns):
        counts[name] += 1
        if ns > worst[name]:
            worst[name] = ns
        if ns > 1_000_000:
            over[name] += 1
        if counts[name] % 16 == 0:
            samples[name].append(ns)

    def noop(step, loss=None):
        return None

    import collections
    import threading

    control_lock = threading.Lock()
    control_queue = collections.deque(maxlen=8192)

    def same_work(step, loss=None):
        # What emit does (a dict, a tuple, a lock, an append) without ranktop: the machine's and
        # the garbage collector's share of any call of this length.
        fields = {"step": step, "metrics": {"loss": loss}}
        with control_lock:
            control_queue.append(("progress", time.time(), step, fields))

    import gc

    gc_pauses = {"count": 0, "over_1ms": 0, "max_us": 0.0}
    gc_started = [0]

    def on_gc(phase, info):
        if phase == "start":
            gc_started[0] = time.perf_counter_ns()
        else:
            pause = (time.perf_counter_ns() - gc_started[0]) / 1000
            gc_pauses["count"] += 1
            gc_pauses["over_1ms"] += pause > 1000
            gc_pauses["max_us"] = max(gc_pauses["max_us"], pause)

    gc.callbacks.append(on_gc)

    progress = ranktop.progress
    emit = emitter.emit
    deadline = time.monotonic() + seconds
    step = 0
    if scenario.endswith("flooded"):
        while time.monotonic() < deadline:
            for _ in range(1000):
                start = clock()
                progress(step, loss=1.0)
                middle = clock()
                same_work(step, loss=1.0)
                t3 = clock()
                noop(step, loss=1.0)
                end = clock()
                note("progress", middle - start)
                note("same_work", t3 - middle)
                note("noop", end - t3)
                step += 1
    else:
        while time.monotonic() < deadline:
            start = clock()
            emit("log", {"level": "info", "msg": "x"})
            t1 = clock()
            progress(step, loss=1.0)
            t2 = clock()
            partial_state.wait_for_everyone()  # the patched method itself
            t3 = clock()
            same_work(step, loss=1.0)
            t4 = clock()
            noop(step, loss=1.0)
            t5 = clock()
            note("emit", t1 - start)
            note("progress", t2 - t1)
            note("barrier", t3 - t2 - inner[0])
            note("same_work", t4 - t3)
            note("noop", t5 - t4)
            step += 1
            time.sleep(0.0005)
    result = {"scenario": scenario, "seconds": seconds, "steps": step, "dropped": emitter.dropped,
              "connected": emitter.connected, "wakeups": emitter.wakeups, "writer_cycles": emitter.writer_cycles,
              "gc": gc_pauses}
    for name in names:
        if counts[name]:
            ordered = sorted(samples[name])
            result[name] = {"calls": counts[name], "max_us": worst[name] / 1000, "over_1ms": over[name],
                            "p999_us": ordered[int(0.999 * (len(ordered) - 1))] / 1000,
                            "median_us": ordered[len(ordered) // 2] / 1000}
    print("RESULT " + json.dumps(result), flush=True)
    os._exit(0)  # no bye/flush at exit: a stopped collector would only delay us


def slow_reader(path: str, chunk: int = 4096, interval: float = 0.1) -> None:
    """The slow collector: accepts every connection and reads `chunk` bytes of each every `interval`."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.setblocking(False)
    clients = []
    while True:
        try:
            connection, _ = listener.accept()
            connection.setblocking(False)
            clients.append(connection)
        except BlockingIOError:
            pass
        for connection in list(clients):
            try:
                data = connection.recv(chunk)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                connection.close()
                clients.remove(connection)
        time.sleep(interval)


def wait_for(path, seconds=10):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_process(process):
    process.send_signal(signal.SIGCONT)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_scenario(args, scenario, workdir):
    sock = os.path.join(workdir, scenario + ".sock")
    shm = scenario.startswith("shm-")
    shm_name = "stalls-%d-%s" % (os.getpid(), scenario)
    serve = None
    relay = None
    stop_target = None
    token = "stalls-bench-token"  # a relay always presents one; serve checks it
    if scenario == "slow":
        serve = subprocess.Popen([sys.executable, __file__, "--slow-reader", sock],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(sock)
    elif scenario not in ("absent", "shm-absent"):
        command = [args.ranktop, "serve", "--listen", "unix:" + sock, "--log", os.path.join(workdir, scenario + ".jsonl")]
        serve = subprocess.Popen(command + (["--token", token] if shm else []),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(sock)
        if shm:
            relay = subprocess.Popen([args.ranktop, "relay", "--to", "unix:" + sock, "--token", token,
                                      "--segment", shm_name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if scenario == "stopped":
        stop_target = serve
    elif scenario == "shm-stopped":
        stop_target = relay
    address = "shm://" + shm_name if shm else "unix:" + sock
    env = dict(os.environ, RANKTOP_ADDR=address, RANKTOP_RUN="stalls-" + scenario, OMP_NUM_THREADS="1")
    process = subprocess.Popen([sys.executable, __file__, "--child", scenario, "--seconds", str(args.seconds)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if stop_target is not None:
            time.sleep(4.0)  # the child imports accelerate and connects (or claims its area) first
            stop_target.send_signal(signal.SIGSTOP)
        output, _ = process.communicate(timeout=args.seconds + 120)
    finally:
        for helper in (relay, serve):
            if helper is not None:
                stop_process(helper)
        if shm:
            try:
                os.unlink(os.path.join(os.environ.get("RANKTOP_SHM_DIR") or "/dev/shm", "ranktop-" + shm_name))
            except FileNotFoundError:
                pass
    for line in output.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit("scenario %s failed:\n%s" % (scenario, output[-3000:]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15.0, help="per scenario")
    parser.add_argument("--child")
    parser.add_argument("--slow-reader", help=argparse.SUPPRESS)
    parser.add_argument("--ranktop", default=os.environ.get("RANKTOP_BIN", "ranktop"))
    parser.add_argument("--scenarios",
                        default="present,absent,stopped,slow,flooded,shm-absent,shm-present,shm-stopped,shm-flooded")
    args = parser.parse_args()
    if args.slow_reader:
        slow_reader(args.slow_reader)
        return
    if args.child:
        child(args.child, args.seconds)
        return
    workdir = tempfile.mkdtemp(prefix="ranktop-stalls-")
    try:
        rows = [run_scenario(args, s, workdir) for s in args.scenarios.split(",")]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("%.0f s per scenario; max (p99.9, calls over 1 ms / calls) per call on the training thread" % args.seconds)
    print()
    print("| collector | emit() | progress() | wait_for_everyone() beyond the wait | same work without ranktop | a no-op call | GC passes over 1 ms (longest) | dropped |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = []
        for name in ("emit", "progress", "barrier", "same_work", "noop"):
            c = r.get(name)
            cells.append("%.0f us (%.1f us, %d / %d)" % (c["max_us"], c["p999_us"], c["over_1ms"], c["calls"])
                         if c else "-")
        cells.append("%d of %d (%.1f ms)" % (r["gc"]["over_1ms"], r["gc"]["count"], r["gc"]["max_us"] / 1000))
        print("| %s | %s | %d |" % (r["scenario"], " | ".join(cells), r["dropped"]))


if __name__ == "__main__":
    main()
