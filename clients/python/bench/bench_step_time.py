"""Step time of a real DDP loop, bare vs instrumented by ranktop, side by side (issue 10).

    OMP_NUM_THREADS=1 RANKTOP_BIN=/path/to/ranktop ~/.cache/ranktop/venv/bin/python \
        clients/python/bench/bench_step_time.py [--quick] [--process] [--only LOOP,COLLECTOR,RANKS,EVENTS] \
        [--transport unix|shm]

Each configuration runs `torchrun --standalone --nproc_per_node N bench/step_train.py` (gloo, CPU,
a 3-layer MLP, batch 64) either under `ranktop run --headless` (the collector in the launcher's
process) or with RANKTOP_ADDR pointing at a separate `ranktop serve`. Two ways to alternate:

- default (segments): one launch per configuration; after a warm-up, rank 0 and its peers run
  K bare and K instrumented segments of S steps alternately in the same processes (a bare segment
  takes ranktop's wrappers off Accelerate's classes and calls a no-op instead of
  ranktop.progress; the emitter's threads stay, idle). Load drift on a shared machine hits both
  sides alike.
- --process: K bare launches (plain torchrun, no ranktop anywhere) and K instrumented launches,
  alternately. Slower (every launch imports torch on every rank), and it includes what an idle
  collector and the adapter's import cost the steady state.

For each configuration: the median step time of rank 0 over each segment; the table shows the
median over the K segments of each side, the median of their p90s, the ratio (median over the K
pairs of instrumented/bare) and the added time per event (median over the pairs of
instrumented - bare, divided by the events per step). Defaults: K = 30 pairs of 30-step segments
(--process: K = 5 launches of each, 150 steps), after 60 warm-up steps.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADAPTER = HERE.parent  # clients/python
TRAIN = HERE / "step_train.py"
PYTHON = sys.executable


def torchrun(ranks):
    launcher = shutil.which("torchrun", path=os.path.dirname(PYTHON)) or "torchrun"
    return [launcher, "--standalone", "--nproc_per_node", str(ranks), str(TRAIN)]


def base_env(args, loop, events, mode, out):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RANKTOP_")}
    env.update(OMP_NUM_THREADS="1", BENCH_LOOP=loop, BENCH_EVENTS=str(events), BENCH_OUT=out,
               BENCH_WARMUP=str(args.warmup), BENCH_STEPS=str(args.steps), BENCH_INSTRUMENTED=mode,
               BENCH_SEGMENTS=str(args.alternations if mode == "alt" else 1), BENCH_ABLATE=args.ablate,
               BENCH_SWITCH_INTERVAL=args.switch_interval)
    return env


def launch(args, loop, collector, ranks, events, mode, workdir, serve_addr):
    """Runs one torchrun; returns rank 0's JSON (segments and the adapter's stats)."""
    out = os.path.join(workdir, "out-%d.json" % time.monotonic_ns())
    env = base_env(args, loop, events, mode, out)
    command = torchrun(ranks)
    if mode != "0":
        adapter_dir = args.adapter
        if collector == "headless":
            env["RANKTOP_PYTHON_DIR"] = adapter_dir
            command = [args.ranktop, "run", "--headless", "--transport", args.transport,
                       "--log", os.path.join(workdir, "run-%d.jsonl" % time.monotonic_ns()), "--"] + command
        else:
            env["RANKTOP_ADDR"] = serve_addr
            env["RANKTOP_RUN"] = "bench-%d" % time.monotonic_ns()
            env["PYTHONPATH"] = os.pathsep.join([os.path.join(adapter_dir, "ranktop", "_autoload"), adapter_dir])
    result = subprocess.run(command, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=600)
    if result.returncode != 0 or not os.path.exists(out):
        raise SystemExit("launch failed (%s):\n%s" % (" ".join(command), result.stdout[-4000:]))
    with open(out) as f:
        return json.load(f)


def p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def measure(args, loop, collector, ranks, events, workdir, serve_addr):
    bare, instrumented, dropped, stats = [], [], 0, {}
    if args.process:
        for _ in range(args.alternations):
            for mode in ("0", "1"):
                data = launch(args, loop, collector, ranks, events, mode, workdir, serve_addr)
                (bare if mode == "0" else instrumented).extend(s["times"] for s in data["segments"])
                if data["stats"]:
                    dropped += data["stats"].get("dropped", 0)
                    for name in ("wakeups", "writer_cycles", "seconds", "adapter_threads_cpu_s"):
                        if data["stats"].get(name) is not None:
                            stats[name] = stats.get(name, 0) + data["stats"][name]
    else:
        data = launch(args, loop, collector, ranks, events, "alt", workdir, serve_addr)
        for segment in data["segments"]:
            (bare if segment["mode"] == "bare" else instrumented).append(segment["times"])
        dropped = data["stats"].get("dropped", 0)
        stats = data["stats"]
    bare_medians = [statistics.median(t) for t in bare]
    inst_medians = [statistics.median(t) for t in instrumented]
    row = {
        "loop": loop, "collector": collector, "ranks": ranks, "events": events,
        "bare": statistics.median(bare_medians), "bare_p90": statistics.median(p90(t) for t in bare),
        "inst": statistics.median(inst_medians), "inst_p90": statistics.median(p90(t) for t in instrumented),
        "ratio": statistics.median(i / b for i, b in zip(inst_medians, bare_medians)),
        "bare_medians": bare_medians, "inst_medians": inst_medians, "dropped": dropped,
        "wakeups": stats.get("wakeups"), "writer_cycles": stats.get("writer_cycles"), "seconds": stats.get("seconds"),
        "adapter_cpu": stats.get("adapter_threads_cpu_s"),
    }
    # Per event: the median over the pairs of (instrumented - bare), so slow drift cancels.
    row["per_event_us"] = statistics.median(i - b for i, b in zip(inst_medians, bare_medians)) / events * 1e6
    return row


def configurations(args):
    if args.only:
        for spec in args.only:
            loop, collector, ranks, events = spec.split(",")
            yield loop, collector, int(ranks), int(events)
        return
    for loop in ("accelerate", "torch"):
        for collector in ("headless", "serve"):
            for ranks in (1, 2):
                yield loop, collector, ranks, 2
    if not args.quick:
        for loop in ("accelerate", "torch"):
            for events in (20, 200):
                yield loop, "headless", 2, events


def start_serve(args, workdir):
    path = os.path.join(workdir, "serve.sock")
    process = subprocess.Popen([args.ranktop, "serve", "--listen", "unix:" + path, "--log",
                                os.path.join(workdir, "serve.jsonl")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process, "unix:" + path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Many short segments: load bursts from other work on a shared machine last seconds, so
    # adjacent short segments see the same load and the paired ratio cancels it.
    parser.add_argument("--alternations", type=int, default=30, help="bare/instrumented pairs (>= 5)")
    parser.add_argument("--warmup", type=int, default=60, help="steps before measuring (per launch)")
    parser.add_argument("--steps", type=int, default=30, help="measured steps per segment")
    parser.add_argument("--process", action="store_true", help="alternate whole launches, not segments")
    parser.add_argument("--quick", action="store_true", help="2 events a step only (8 configurations)")
    parser.add_argument("--only", action="append", help="LOOP,COLLECTOR,RANKS,EVENTS (repeatable)")
    parser.add_argument("--ranktop", default=os.environ.get("RANKTOP_BIN", "ranktop"))
    parser.add_argument("--adapter", default=str(ADAPTER), help="the adapter directory ranks load (before/after runs)")
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--ablate", default="", help="wake_per_event,json_dumps,batch512: put old behaviour back")
    parser.add_argument("--transport", choices=("unix", "shm"), default="unix",
                        help="how ranks under `ranktop run --headless` report (serve is always unix)")
    parser.add_argument("--switch-interval", default="", help="sys.setswitchinterval in the ranks (profiling)")
    args = parser.parse_args()
    if args.process and args.alternations == 30 and args.steps == 30:
        args.alternations, args.steps = 5, 150  # one segment per launch: fewer, longer

    workdir = tempfile.mkdtemp(prefix="ranktop-steps-")
    serve, serve_addr = start_serve(args, workdir)
    rows = []
    started = time.monotonic()
    try:
        for loop, collector, ranks, events in configurations(args):
            row = measure(args, loop, collector, ranks, events, workdir, serve_addr)
            rows.append(row)
            print("%-10s %-8s %d rank(s) %3d ev/step: bare %.3f ms, instrumented %.3f ms, ratio %.3f, %.2f us/event, "
                  "dropped %d, emit woke the writer %s times, writer woke %s times, adapter threads used %s CPU s (in %s s of steps)"
                  % (loop, collector, ranks, events, row["bare"] * 1e3, row["inst"] * 1e3, row["ratio"],
                     row["per_event_us"], row["dropped"], row["wakeups"], row["writer_cycles"], row["adapter_cpu"],
                     "%.1f" % row["seconds"] if row["seconds"] else "?"), flush=True)
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(10)
        except subprocess.TimeoutExpired:
            serve.kill()
    print()
    print("%s, %d alternations of %d steps (warm-up %d), transport %s, %.0f s%s%s" % (
        "whole launches" if args.process else "segments in one launch", args.alternations, args.steps,
        args.warmup, args.transport, time.monotonic() - started, ", ablate=" + args.ablate if args.ablate else "",
        ", switch interval %s s" % args.switch_interval if args.switch_interval else ""))
    print()
    print("| loop | collector | ranks | events/step | bare median (p90) | instrumented median (p90) | ratio | per event | dropped |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %d | %d | %.3f (%.3f) ms | %.3f (%.3f) ms | %.3fx | %+.1f us | %d |" % (
            r["loop"], "`ranktop run --headless`" if r["collector"] == "headless" else "`ranktop serve`",
            r["ranks"], r["events"], r["bare"] * 1e3, r["bare_p90"] * 1e3, r["inst"] * 1e3, r["inst_p90"] * 1e3,
            r["ratio"], r["per_event_us"], r["dropped"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
