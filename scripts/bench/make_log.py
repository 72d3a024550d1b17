#!/usr/bin/env python3
"""Writes a realistic protocol-v1 event log for benchmarks: N ranks training with progress and
metrics every step, a trigger check every step, a checkpoint barrier every 50 steps, heartbeats
and an occasional log line. Usage: make_log.py EVENTS PATH [RANKS]"""
import json
import random
import sys

def main():
    target, path = int(sys.argv[1]), sys.argv[2]
    ranks = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    rng = random.Random(7)
    seq = [0] * ranks
    t = 1764374400.0
    out = open(path, "w")
    written = 0

    def emit(rank, kind, **fields):
        nonlocal written
        event = {"kind": kind, "rank": rank, "ts": round(t + rng.random() * 0.01, 6), "seq": seq[rank]}
        seq[rank] += 1
        event.update(fields)
        out.write(json.dumps(event, separators=(",", ":")) + "\n")
        written += 1

    for r in range(ranks):
        emit(r, "hello", v=1, run="bench", world=ranks, local_rank=r % 8, local_world=8, node=f"gpu-{r // 8}",
             pid=10000 + r, runtime="accelerate/1.15.0 torch/2.15.0", timeout=1800, caps=["inject", "stack"])
    step, barrier, check = 0, 0, 0
    while written < target:
        step += 1
        t += 0.5
        for r in range(ranks):
            emit(r, "progress", step=step, total=10**9, epoch=step / 1000,
                 metrics={"loss": round(3.0 / (1 + step * 0.001) + rng.random() * 0.01, 5), "lr": 3e-4})
            emit(r, "trigger.check", n=check, fired=False)
        check += 1
        if step % 50 == 0:
            for r in rng.sample(range(ranks), ranks):
                emit(r, "barrier.enter", n=barrier, name="save_checkpoint", site="train.py:212")
            for r in range(ranks):
                emit(r, "barrier.exit", n=barrier)
            barrier += 1
        if step % 20 == 0:
            for r in range(ranks):
                emit(r, "heartbeat")
        if step % 97 == 0:
            emit(rng.randrange(ranks), "log", level="warning", msg="grad norm 12.3 exceeds clip 1.0")
    out.close()
    print(f"{written} events, {step} steps, {barrier} barriers -> {path}")

main()
