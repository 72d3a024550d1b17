"""What reporting torch.distributed collectives costs the training thread (docs/collectives.md).

    OMP_NUM_THREADS=1 ~/.cache/ranktop/venv/bin/python clients/python/bench/bench_collectives.py \
        [--batches 300] [--pairs 20] [--detail-launches 3] [--transport unix|shm]

(RANKTOP_PYTHON_WRAPPER=1 in the environment: the collective wrapper's and the process-group
hooks' Python bodies, instead of their C ones.)

On a shared machine, load drifts by 3x between launches, so both figures alternate bare and
instrumented inside ONE process (zero-code ranktop, sending to a collector that drains its socket):

1. Per collective (`percall`): a gloo world of 1 runs `all_reduce` on a 4-float tensor, batches of
   200 calls in rotation over five modes; each figure is the median over the batches of the
   per-call mean, and the added cost the median of the per-batch differences to the bare mode of
   the same rotation:
   - bare: the original torch function, process-group hooks unregistered;
   - wrappers: the ranktop wrapper (emits enter + exit), hooks unregistered: the path without hooks;
   - wrappers+hooks: as shipped on a torch with hooks: the wrapper emits, the hooks are called and
     return at once;
   - pg-call bare / pg-call hooks: `ProcessGroup.allreduce([t]).wait()` called directly, as torch's
     C++ callers (DDP) issue collectives: no Python wrapper, the hooks emit (exit from the future).
2. Step time (`steps`): `torchrun --nproc_per_node 2 ddp_loop.py` with BENCH_ALT: a DDP loop (3-layer
   MLP, batch 64) whose rank 0 and 1 run `pairs` pairs of bare and instrumented segments of 20 steps
   (bare: hooks unregistered, DDP.forward unwrapped, the optimizer hook removed; once with the hooks,
   once with RANKTOP_PG_HOOKS=0, the comm-hook fallback, which cannot be taken off: there the bare
   segments still run DDP through the labelling comm hook).
3. TORCH_DISTRIBUTED_DEBUG=DETAIL cannot be turned on inside a process, and DDP's construction
   crashes under it (torch 2.15, gloo: SIGSEGV in _ddp_init_helper): per-call all_reduce only, bare
   and DETAIL launches alternating, `detail-launches` each, the calling thread's CPU time.
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
import time
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
import json, statistics, sys, time, torch, torch.distributed as dist
from ranktop import _collectives, _pg_hooks
dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%s" % sys.argv[1], rank=0, world_size=1)
batches = int(sys.argv[2])
t = torch.ones(4)
pg = dist.distributed_c10d._get_default_group()
world = _collectives.groups.world
pre, post = world.hooks
wrapped = dist.all_reduce
original = wrapped.__ranktop_original__
def hooks(on):
    if on:
        pg.register_pre_hook(_pg_hooks.HOOK_ID, pre); pg.register_post_hook(_pg_hooks.HOOK_ID, post)
    else:
        pg.unregister_pre_hook(_pg_hooks.HOOK_ID); pg.unregister_post_hook(_pg_hooks.HOOK_ID)
modes = {
    "bare": (False, lambda: original(t)),
    "wrappers": (False, lambda: wrapped(t)),
    "wrappers+hooks": (True, lambda: wrapped(t)),
    "pg-call bare": (False, lambda: pg.allreduce([t]).wait()),
    "pg-call hooks": (True, lambda: pg.allreduce([t]).wait()),
}
times = {name: [] for name in modes}
cpu = {name: [] for name in modes}
clock = time.perf_counter_ns
thread_clock = time.thread_time_ns
hooks(False)
for i in range(batches + 10):
    names = list(modes)
    names = names[i % len(names):] + names[:i % len(names)]
    for name in names:
        on, call = modes[name]
        hooks(on)
        for _ in range(20):
            call()
        start, start_cpu = clock(), thread_clock()
        for _ in range(200):
            call()
        elapsed = (clock() - start) / 200 / 1000
        elapsed_cpu = (thread_clock() - start_cpu) / 200 / 1000
        hooks(False)
        if i >= 10:
            times[name].append(elapsed)
            cpu[name].append(elapsed_cpu)
    time.sleep(0.002)
print("RESULT " + json.dumps({"wall": times, "cpu": cpu}), flush=True)
"""


def start_drain(directory):
    path = os.path.join(directory, "drain.sock")
    process = subprocess.Popen([PYTHON, "-c", DRAIN, path], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process, "unix:" + path


def start_shm_collector(directory, ranktop):
    """`ranktop serve` reading the ranks' shared-memory rings, so the rings never fill."""
    name = "bench-coll-%d" % os.getpid()
    process = subprocess.Popen([ranktop, "serve", "--listen", "shm://" + name, "--log", os.path.join(directory, "shm.jsonl")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not os.path.exists("/dev/shm/ranktop-" + name):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("%s serve --listen shm://%s did not start" % (ranktop, name))
        time.sleep(0.05)
    return process, "shm://" + name


def env_for(instrumented, address, **extra):
    # RANKTOP_PYTHON_WRAPPER=1 passes through: the wrappers' and hooks' Python bodies instead of C.
    env = {k: v for k, v in os.environ.items()
           if (not k.startswith("RANKTOP_") or k == "RANKTOP_PYTHON_WRAPPER") and k != "PYTHONPATH"}
    env["OMP_NUM_THREADS"] = "1"
    if instrumented:
        env["PYTHONPATH"] = os.pathsep.join([str(AUTOLOAD), str(ADAPTER)])
        env["RANKTOP_ADDR"] = address
        env["RANKTOP_RUN"] = "bench"
    env.update(extra)
    return env


def run(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (command, (result.stdout + result.stderr)[-3000:]))
    return result.stdout


def percall(address, batches):
    env = env_for(True, address, RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
    output = run([PYTHON, "-c", PER_CALL, "29741", str(batches)], env)
    both = json.loads([line for line in output.splitlines() if line.startswith("RESULT ")][0][7:])
    print("per all_reduce (4 floats, gloo world of 1), us: median over %d batches of 200 calls; added: median of "
          "the per-batch differences; wall clock, and the calling thread's CPU time" % batches)
    wall, cpu = both["wall"], both["cpu"]
    for name in wall:
        base = "pg-call bare" if name.startswith("pg-call") else "bare"
        added = statistics.median(v - b for v, b in zip(wall[name], wall[base]))
        added_cpu = statistics.median(v - b for v, b in zip(cpu[name], cpu[base]))
        print("  %-16s wall %7.2f  added %+6.2f   cpu %7.2f  added %+6.2f" % (
            name, statistics.median(wall[name]), added, statistics.median(cpu[name]), added_cpu))


def torchrun(script_env, out):
    launcher = shutil.which("torchrun", path=os.path.dirname(PYTHON)) or "torchrun"
    script_env["BENCH_OUT"] = out
    run([launcher, "--standalone", "--nproc_per_node", "2", str(HERE / "ddp_loop.py")], script_env)
    with open(out) as f:
        return json.load(f)


def steps(address, pairs, directory):
    print("DDP step time, 2 ranks (gloo, MLP 256-512-512-10, batch 64), rank 0, %d pairs of 20-step segments "
          "in one launch: median of segment medians, ms" % pairs)
    for name, extra in (("hooks", {}), ("comm-hook fallback", {"RANKTOP_PG_HOOKS": "0"})):
        env = env_for(True, address, BENCH_ALT=str(pairs), **extra)
        result = torchrun(env, os.path.join(directory, "alt-%s.json" % name.replace(" ", "-")))
        bare, inst = result["bare"], result["instrumented"]
        ratio = statistics.median(i / b for i, b in zip(inst, bare))
        print("  %-20s bare %.3f  instrumented %.3f  ratio (median of pairs) %.4f  added %+.1f us/step" % (
            name, statistics.median(bare), statistics.median(inst), ratio,
            statistics.median(i - b for i, b in zip(inst, bare)) * 1000))


DETAIL_CALL = """
import statistics, sys, time, torch, torch.distributed as dist
dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%s" % sys.argv[1], rank=0, world_size=1)
t = torch.ones(4)
for _ in range(1000):
    dist.all_reduce(t)
means = []
for _ in range(100):
    start = time.thread_time_ns()
    for _ in range(200):
        dist.all_reduce(t)
    means.append((time.thread_time_ns() - start) / 200 / 1000)
print("RESULT %.3f" % statistics.median(means), flush=True)
"""


def detail(launches, directory):
    # DETAIL cannot be switched inside a process, and DDP construction under DETAIL crashes
    # (SIGSEGV in _ddp_init_helper, torch 2.15, gloo): per call only, separate launches alternating.
    print("TORCH_DISTRIBUTED_DEBUG=DETAIL vs bare, all_reduce of 4 floats, gloo world of 1, CPU us per call, "
          "%d launches each, alternating" % launches)
    values = {"bare": [], "DETAIL": []}
    port = 29760
    for _ in range(launches):
        for name in values:
            port += 1
            env = env_for(False, None, **({"TORCH_DISTRIBUTED_DEBUG": "DETAIL"} if name == "DETAIL" else {}))
            # A DETAIL process aborts at exit ("terminate called without an active exception", torch
            # 2.15): its figure is printed before that.
            output = subprocess.run([PYTHON, "-c", DETAIL_CALL, str(port)], env=env, capture_output=True, text=True,
                                    timeout=300).stdout
            values[name].append(float([l for l in output.splitlines() if l.startswith("RESULT ")][0].split()[1]))
    print("  bare %s  DETAIL %s  added (median of pairs) %+.2f us" % (
        ["%.2f" % v for v in values["bare"]], ["%.2f" % v for v in values["DETAIL"]],
        statistics.median(d - b for d, b in zip(values["DETAIL"], values["bare"]))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--detail-launches", type=int, default=3)
    parser.add_argument("--only", default="percall,steps,detail")
    parser.add_argument("--transport", choices=("unix", "shm"), default="unix",
                        help="unix: a socket that drains what it gets; shm: rings read by `ranktop serve`")
    parser.add_argument("--ranktop", default=os.environ.get("RANKTOP_BIN", "ranktop"), help="for --transport shm")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="ranktop-bench-coll-")
    if args.transport == "shm":
        drain, address = start_shm_collector(directory, args.ranktop)
    else:
        drain, address = start_drain(directory)
    try:
        only = args.only.split(",")
        if "percall" in only:
            percall(address, args.batches)
        if "steps" in only:
            steps(address, args.pairs, directory)
        if "detail" in only:
            detail(args.detail_launches, directory)
    finally:
        drain.terminate()
        drain.wait(10)


if __name__ == "__main__":
    main()
