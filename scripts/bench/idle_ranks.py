#!/usr/bin/env python3
"""Many quiet ranks against one collector: N Unix-socket connections, each a hello and then one
line a second (a heartbeat), for S seconds. Prints the collector's CPU seconds over the run and
the CPU per event, read from /proc/PID/stat. docs/benchmarks.md, "Collector: many quiet ranks".

    scripts/bench/idle_ranks.py SOCKET COLLECTOR_PID [RANKS=4096] [SECONDS=30]
"""
import json, os, selectors, socket, sys, time

path, pid = sys.argv[1], int(sys.argv[2])
ranks = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
tick = os.sysconf("SC_CLK_TCK")


def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick


conns = []
for r in range(ranks):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    hello = {"kind": "hello", "rank": r, "ts": time.time(), "seq": 0, "v": 1, "run": "r-idle", "world": ranks,
             "local_rank": r % 8, "local_world": 8, "node": "node-%d" % (r // 8), "pid": 10000 + r, "runtime": "bench"}
    s.sendall((json.dumps(hello, separators=(",", ":")) + "\n").encode())
    s.setblocking(False)
    conns.append(s)
time.sleep(2)
start_cpu, start = cpu(), time.monotonic()
sent = 0
seq = 1
while time.monotonic() - start < seconds:
    second = time.monotonic()
    for r, s in enumerate(conns):
        line = '{"kind":"heartbeat","rank":%d,"ts":%.6f,"seq":%d}\n' % (r, time.time(), seq)
        try:
            s.send(line.encode())
            sent += 1
        except BlockingIOError:
            pass
        # Spread the ranks over the second, as independent ranks would be.
        if r % 64 == 63:
            time.sleep(max(0, (second + (r + 1) / ranks) - time.monotonic()))
    seq += 1
    time.sleep(max(0, second + 1 - time.monotonic()))
used = cpu() - start_cpu
elapsed = time.monotonic() - start
print(f"{ranks} ranks, {elapsed:.1f} s, {sent} events: collector CPU {used:.2f} s "
      f"({used / elapsed * 100:.1f}% of a core), {used / max(1, sent) * 1e6:.1f} us per event")
for s in conns:
    s.close()
