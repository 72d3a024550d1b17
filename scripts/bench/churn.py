#!/usr/bin/env python3
"""Churn against a running collector (docs/reliability.md, "A slow viewer and churn").

Usage: scripts/bench/churn.py SOCKET COLLECTOR_PID [CYCLES] [--viewer]

CYCLES times (default 10000), one of 64 ranks of one run reconnects: it connects, says hello
(the same pid), sends three progress events (its seq going on) and closes. With --viewer, a viewer
connects first and never reads. Prints the collector's resident memory (VmRSS) as it goes.
"""
import json
import socket
import sys
import time


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) // 1024


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) < 2:
        sys.exit(__doc__)
    path, pid = args[0], int(args[1])
    cycles = int(args[2]) if len(args) > 2 else 10000
    viewer = None
    if "--viewer" in sys.argv:
        viewer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        viewer.connect(path)
        viewer.sendall(b'{"kind":"viewer","v":1}\n')
    print(f"start: {rss(pid)} MiB")
    sent = 0
    counters = [0] * 64
    started = time.time()
    for cycle in range(1, cycles + 1):
        rank = cycle % 64
        base = counters[rank]
        counters[rank] += 3
        # A reconnecting emitter says hello with seq 0; its other events go on counting.
        lines = [json.dumps({"kind": "hello", "rank": rank, "ts": time.time(), "seq": 0, "v": 1, "run": "churn",
                             "world": 64, "local_rank": 0, "local_world": 1, "node": "n", "pid": 100000 + rank,
                             "runtime": "bench"})]
        lines += [json.dumps({"kind": "progress", "rank": rank, "ts": time.time(), "seq": base + s, "step": base + s})
                  for s in (1, 2, 3)]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(("\n".join(lines) + "\n").encode())
        sent += len(lines)
        s.close()
        if cycle % max(1, cycles // 10) == 0:
            print(f"{cycle} cycles: {rss(pid)} MiB")
    took = time.time() - started
    time.sleep(3)
    print(f"3 s later: {rss(pid)} MiB; {sent} events sent in {took:.1f} s")


if __name__ == "__main__":
    main()
