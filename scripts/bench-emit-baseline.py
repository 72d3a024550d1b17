#!/usr/bin/env python3
"""What a user would write instead of an emitter: json.dumps + socket.sendall per event.

The baseline beside ranktop-emit-bench in docs/benchmarks.md ("Emit cost"), timed the same way:
batches of 100 calls then a 2 ms pause, per-call time = batch time / 100, median and p90 over 300
batches; then 10,000 single calls 50 us apart for the per-call median and p99. A separate process
drains the Unix socket, as a collector would.

    python3 scripts/bench-emit-baseline.py
"""
import json
import os
import socket
import subprocess
import sys
import time

DRAIN = r"""
import os, socket, sys
path = sys.argv[1]
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(1)
print("ready", flush=True)
conn, _ = server.accept()
while conn.recv(1 << 16):
    pass
"""


def measure(call):
    counter = 0
    for _ in range(2000):
        call(counter)
        counter += 1
    time.sleep(0.02)
    batches = []
    for _ in range(300):
        start = time.perf_counter_ns()
        for _ in range(100):
            call(counter)
            counter += 1
        batches.append((time.perf_counter_ns() - start) / 100)
        time.sleep(0.002)
    singles = []
    for _ in range(10_000):
        start = time.perf_counter_ns()
        call(counter)
        singles.append(time.perf_counter_ns() - start)
        counter += 1
        until = time.perf_counter_ns() + 50_000
        while time.perf_counter_ns() < until:
            pass
    batches.sort()
    singles.sort()
    return batches[150], batches[270], singles[5000], singles[9900]


def main():
    path = f"/tmp/ranktop-emit-baseline-{os.getpid()}.sock"
    drain = subprocess.Popen([sys.executable, "-c", DRAIN, path], stdout=subprocess.PIPE, text=True)
    try:
        drain.stdout.readline()
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(path)

        def progress(step):
            event = {"kind": "progress", "rank": 0, "ts": time.time(), "seq": step, "step": step, "metrics": {"loss": 1.25}}
            sock.sendall((json.dumps(event) + "\n").encode())

        def barrier_exit(step):
            event = {"kind": "barrier.exit", "rank": 0, "ts": time.time(), "seq": step, "n": step}
            sock.sendall((json.dumps(event) + "\n").encode())

        print(f"Python {sys.version.split()[0]}")
        print("| on the calling thread | batch median | batch p90 | single-call median | single-call p99 |")
        print("|---|---|---|---|---|")
        for name, call in [
            ("`json.dumps` + `socket.sendall` of the progress event", progress),
            ("`json.dumps` + `socket.sendall` of `barrier.exit`", barrier_exit),
        ]:
            figures = " | ".join(f"{ns / 1000:.2f} us" for ns in measure(call))
            print(f"| {name} | {figures} |")
        sock.close()
    finally:
        drain.kill()
        os.unlink(path)


if __name__ == "__main__":
    main()
