#!/usr/bin/env python3
"""The collector killed and restarted (docs/reliability.md, "Collector killed").

Usage: scripts/bench/collector_kills.py [--ranks 64] [--kills 10] [--seconds 40] [--rate 500] [--seed 1]
       (RANKTOP_BIN and RANKTOP_LIVE_BENCH name the binaries; default .build/debug/)

A `ranktop serve` on a Unix socket, and RANKS real emitter processes (`ranktop-live-bench
flood-rank`, each RATE progress events a second for SECONDS, then bye). KILLS times, at random
moments, the collector gets `kill -9`, stays dead a random 0.1-1 s, and `ranktop serve --resume`
restarts it on the same socket and log. At the end every rank's events are numbered 1..N (its
`seq`), of which the emitter wrote 1..S whole to a connection (`sent_through`; the rest it
dropped itself, counted in its `dropped`, or still held when the rank exited). Each of 1..S is in
the log, or counted as dropped by the report (`dropped`: the gaps the restarted collector and the
model see), or uncounted. The goal is 0 uncounted.
"""
import argparse
import glob
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time


def wait_for_line(process, text, timeout=30):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return
    sys.exit("no %r from the collector: %s" % (text, "".join(seen)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, default=64)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ranktop = os.environ.get("RANKTOP_BIN", root + "/.build/debug/ranktop")
    bench = os.environ.get("RANKTOP_LIVE_BENCH", root + "/.build/debug/ranktop-live-bench")
    rng = random.Random(args.seed)

    scratch = tempfile.mkdtemp(prefix="rtk-")
    env = dict(os.environ, XDG_RUNTIME_DIR=scratch, XDG_STATE_HOME=scratch + "/state")
    log = scratch + "/run.jsonl"
    sock = scratch + "/c.sock"

    def serve(arguments):
        process = subprocess.Popen([ranktop, *arguments], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wait_for_line(process, "collector listening")
        if os.environ.get("DEBUG"): print("serve", process.pid, arguments, file=sys.stderr)
        return process

    collector = serve(["serve", "--listen", "unix:" + sock, "--log", log, "--stack-after", "0"])
    run_files = glob.glob(scratch + "/ranktop/*.run")
    assert len(run_files) == 1, run_files
    run_id = os.path.basename(run_files[0])[: -len(".run")]

    ranks = []
    for rank in range(args.ranks):
        rank_env = dict(env, RANK=str(rank), WORLD_SIZE=str(args.ranks), RANKTOP_ADDR="unix:" + sock)
        ranks.append(subprocess.Popen([bench, "flood-rank", "--seconds", str(args.seconds), "--rate", str(args.rate)],
                                      env=rank_env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    started = time.monotonic()
    # Kill moments spread over the run's first 80%, random within their slots.
    slot = args.seconds * 0.8 / max(args.kills, 1)
    downtimes = []
    for kill in range(args.kills):
        due = started + kill * slot + rng.uniform(0.2, slot * 0.8)
        time.sleep(max(0, due - time.monotonic()))
        collector.send_signal(signal.SIGKILL)
        collector.wait()
        down = rng.uniform(0.1, 1.0)
        time.sleep(down)
        before = time.monotonic()
        collector = serve(["serve", "--resume", run_id])
        downtimes.append(down + time.monotonic() - before)
    results = []
    for process in ranks:
        out, _ = process.communicate(timeout=args.seconds + 120)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        results.append(json.loads(lines[-1]) if lines else {})
    # A collector that lags is still reading what the ranks sent before they exited: stop it
    # once the log has stopped growing, not before (a stop closes the connections).
    size, still = -1, 0
    while still < 3:
        time.sleep(1)
        now = os.path.getsize(log)
        still = still + 1 if now == size else 0
        size = now
    collector.send_signal(signal.SIGTERM)
    collector.communicate(timeout=60)

    seqs = {}
    with open(log) as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("rank", -1) >= 0 and event.get("kind") != "hello" and "seq" in event:
                seqs.setdefault(event["rank"], set()).add(event["seq"])
    report = json.loads(subprocess.run([ranktop, "report", "--json", log], capture_output=True, text=True, check=True).stdout)
    dropped = {row["rank"]: row["dropped"] for row in report["ranks"]}
    numbered = handed = in_log = counted = uncounted = overcounted = emitter_dropped = 0
    for rank in range(args.ranks):
        total = results[rank].get("emitted", 0) + 1  # the progress events, then bye
        # What the emitter wrote whole to a connection: the rest it dropped itself (a full queue)
        # or still held when the rank exited (it waits 5 s for a collector that lags).
        through = results[rank].get("sent_through", total)
        logged = seqs.get(rank, set())
        present = sum(1 for seq in logged if seq <= through)
        missing = through - present
        numbered += total
        handed += through
        in_log += len(logged)
        counted += min(dropped.get(rank, 0), missing)
        uncounted += max(missing - dropped.get(rank, 0), 0)
        overcounted += max(dropped.get(rank, 0) - missing, 0)
        emitter_dropped += results[rank].get("dropped", 0)
    sessions = report.get("collectors", [])
    died = sum(1 for s in sessions if s.get("died_ts") is not None)
    print(json.dumps({
        "ranks": args.ranks, "kills": args.kills, "seconds": args.seconds, "rate": args.rate, "seed": args.seed,
        "collector_sessions": len(sessions), "deaths_in_report": died,
        "mean_downtime_s": round(sum(downtimes) / max(len(downtimes), 1), 2),
        "events_numbered": numbered, "handed_to_a_connection": handed, "in_log": in_log, "counted_as_dropped": counted,
        "uncounted": uncounted, "overcounted": overcounted, "emitter_queue_drops": emitter_dropped,
        "slowest_emit_us": max(r.get("slowest_emit_us", 0) for r in results),
        "emits_over_1ms": sum(r.get("emits_over_1ms", 0) for r in results),
        "log": log,
    }))


if __name__ == "__main__":
    main()
