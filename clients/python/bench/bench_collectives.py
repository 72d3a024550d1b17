"""What reporting torch.distributed collectives costs the training thread (docs/collectives.md).

    OMP_NUM_THREADS=1 ~/.cache/ranktop/venv/bin/python clients/python/bench/bench_collectives.py [--rounds K]

1. Per collective: a gloo world of 1 (one process, so no peer's jitter) runs `all_reduce` on a
   4-float tensor in batches of 200; the figure is the median over 150 batches of the mean time a
   call takes on the calling thread. Modes, each a fresh process, K rounds alternating:
   - bare: no ranktop;
   - wrappers: zero-code ranktop with the process-group hooks off (RANKTOP_PG_HOOKS=0): the Python
     wrapper emits enter and exit;
   - hooks: zero-code ranktop as shipped on a torch with hooks: the wrapper emits, the hooks are
     registered and return at once (what every Python-issued collective pays for them);
   - pg-call bare / pg-call hooks: `ProcessGroup.allreduce([t]).wait()` called directly, the way
     torch's C++ callers (DDP) issue collectives: no Python wrapper, the pre/post hooks emit;
   - DETAIL: no ranktop, TORCH_DISTRIBUTED_DEBUG=DETAIL (torch's own collective checking).
2. Step time: `torchrun --nproc_per_node 2 ddp_loop.py` (gloo, a 3-layer MLP, batch 64, DDP),
   rank 0's median step time over 200 steps after 30 warm-up steps, per mode: bare, hooks,
   wrappers (comm-hook fallback), DETAIL; K launches each, alternating.

Instrumented modes send to a collector that drains its socket (another process), as
bench_training_thread.py does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADAPTER = HERE.parent
AUTOLOAD = ADAPTER / "ranktop" / "_autoload"
PYTHON = sys.executable

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

PER_CALL = """
import os, statistics, sys, time, torch, torch.distributed as dist
dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%s" % sys.argv[1], rank=0, world_size=1)
direct = sys.argv[2] == "pg"
t = torch.ones(4)
pg = dist.distributed_c10d._get_default_group()
def call():
    if direct:
        pg.allreduce([t]).wait()
    else:
        dist.all_reduce(t)
clock = time.perf_counter_ns
for _ in range(2000):
    call()
means = []
for _ in range(150):
    start = clock()
    for _ in range(200):
        call()
    means.append((clock() - start) / 200 / 1000)
    time.sleep(0.002)
print("RESULT %.3f" % statistics.median(means), flush=True)
"""


def start_drain(directory):
    path = os.path.join(directory, "drain.sock")
    process = subprocess.Popen([PYTHON, "-c", DRAIN, path], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process, "unix:" + path


def env_for(mode, address):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RANKTOP_") and k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"
    if mode in ("wrappers", "hooks"):
        env["PYTHONPATH"] = os.pathsep.join([str(AUTOLOAD), str(ADAPTER)])
        env["RANKTOP_ADDR"] = address
        env["RANKTOP_RUN"] = "bench"
        env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"] = "0", "1", "0"
        if mode == "wrappers":
            env["RANKTOP_PG_HOOKS"] = "0"
    if mode == "DETAIL":
        env["TORCH_DISTRIBUTED_DEBUG"] = "DETAIL"
    return env


def per_call(mode, address, port, direct=False):
    env = env_for(mode, address)
    output = subprocess.run([PYTHON, "-c", PER_CALL, str(port), "pg" if direct else "api"], env=env,
                            capture_output=True, text=True, timeout=300)
    for line in output.stdout.splitlines():
        if line.startswith("RESULT "):
            return float(line.split()[1])
    raise RuntimeError(output.stdout + output.stderr)


def step_time(mode, address, out):
    launcher = shutil.which("torchrun", path=os.path.dirname(PYTHON)) or "torchrun"
    env = env_for(mode, address)
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(name, None)
    env["BENCH_OUT"] = out
    subprocess.run([launcher, "--standalone", "--nproc_per_node", "2", str(HERE / "ddp_loop.py")], env=env,
                   check=True, capture_output=True, timeout=600)
    with open(out) as f:
        return json.load(f)["median_ms"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-steps", action="store_true")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="ranktop-bench-coll-")
    drain, address = start_drain(directory)
    try:
        modes = [("bare", False), ("wrappers", False), ("hooks", False), ("bare", True), ("hooks", True),
                 ("DETAIL", False)]
        results = {m: [] for m in modes}
        port = 29700
        for _ in range(args.rounds):
            for mode in modes:
                port += 1
                results[mode].append(per_call(mode[0], address, port, direct=mode[1]))
        print("per all_reduce (4 floats, gloo world of 1), us; median of %d rounds [each round]" % args.rounds)
        bare = statistics.median(results[("bare", False)])
        bare_pg = statistics.median(results[("bare", True)])
        for mode in modes:
            value = statistics.median(results[mode])
            base = bare_pg if mode[1] else bare
            name = ("pg-call " if mode[1] else "") + mode[0]
            print("  %-16s %7.2f  (+%.2f)  %s" % (name, value, value - base, ["%.2f" % v for v in results[mode]]))
        if args.skip_steps:
            return
        steps = {m: [] for m in ("bare", "hooks", "wrappers", "DETAIL")}
        for i in range(args.rounds):
            for mode in steps:
                steps[mode].append(step_time(mode, address, os.path.join(directory, "step-%s-%d.json" % (mode, i))))
        print("DDP step time, 2 ranks (gloo, MLP 256-512-512-10, batch 64), rank 0's median ms; median of %d launches"
              % args.rounds)
        base = statistics.median(steps["bare"])
        for mode, values in steps.items():
            value = statistics.median(values)
            print("  %-16s %7.3f  (%.3fx)  %s" % (mode, value, value / base, ["%.3f" % v for v in values]))
    finally:
        drain.kill()


if __name__ == "__main__":
    main()
