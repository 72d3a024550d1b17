#!/usr/bin/env python3
"""N connections that never say who they are, against a collector: how many it keeps and its RSS.

    scripts/bench/idle_connections.py SOCKET COLLECTOR_PID [N=5000]
"""
import socket, sys, time, os
path = sys.argv[1]; pid = int(sys.argv[2]); n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"): return l.split()[1]
print("before", rss(), "kB")
socks = []; refused = 0
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path); socks.append(s)
    except OSError:
        refused += 1
time.sleep(1)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        d = s.recv(1)
        if d == b"": continue
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("opened", len(socks), "still open after 1s", alive, "rss", rss(), "kB")
time.sleep(11)
alive = 0
for s in socks:
    try:
        d = s.recv(1)
        if d != b"": alive += 1
    except BlockingIOError:
        alive += 1
    except OSError: pass
print("still open after 12s", alive, "rss", rss(), "kB")
