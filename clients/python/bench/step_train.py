"""One rank of the step-time bench (bench_step_time.py starts it under torchrun; see there).

Environment: BENCH_LOOP=accelerate|torch, BENCH_EVENTS=N, BENCH_WARMUP=W, BENCH_STEPS=S,
BENCH_SEGMENTS=K, BENCH_INSTRUMENTED=0|1|alt, BENCH_OUT=path.json (rank 0 writes it).

A small DDP model on gloo (CPU). Every step: forward, backward (DDP's all-reduce), optimizer step,
a gather of the loss and, in the Accelerate loop, `check_trigger` (one more all-reduce).
Events per step:
  accelerate, N == 2: the optimizer step's `progress` and check_trigger's `trigger.check` (zero code)
  accelerate, N > 2: N - 1 `ranktop.progress()` calls and check_trigger's `trigger.check`
  torch: N `ranktop.progress()` calls

BENCH_INSTRUMENTED=0 never imports ranktop and calls a no-op instead of ranktop.progress (with
ranktop's zero-code hook absent this is the bare process). =1 is the instrumented process.
=alt runs instrumented, with K bare and K instrumented segments of S steps alternating in this one
process: a bare segment restores Accelerate's original methods and calls the no-op, an
instrumented one puts ranktop's wrappers back and calls ranktop.progress (the emitter and its
threads live on through the bare segments, idle).
"""

import json
import os
import time

import torch

LOOP = os.environ.get("BENCH_LOOP", "accelerate")
EVENTS = int(os.environ.get("BENCH_EVENTS", "2"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "100"))
STEPS = int(os.environ.get("BENCH_STEPS", "300"))
SEGMENTS = int(os.environ.get("BENCH_SEGMENTS", "1"))
MODE = os.environ.get("BENCH_INSTRUMENTED", "0")


def noop_progress(step, total=None, **metrics):
    return None


if MODE != "0":
    import ranktop

    real_progress = ranktop.progress
    ABLATE = os.environ.get("BENCH_ABLATE", "")
    if ABLATE:
        # Put one old behaviour back, to measure what its change bought (bench_step_time --ablate).
        from ranktop import _emitter

        if "wake_per_event" in ABLATE:  # the writer is woken by every event, as before issue 10
            _plain_emit = _emitter.Emitter.emit

            def emit(self, kind, fields=None):
                _plain_emit(self, kind, fields)
                self._wake.set()

            _emitter.Emitter.emit = emit
        if "json_dumps" in ABLATE:  # every line encoded with json.dumps of a whole dict, as before
            import json as _json

            def _encode(self, item):
                kind, ts, seq, fields = item
                event = {"kind": kind, "rank": self.rank, "ts": round(ts, 6), "seq": seq}
                if fields:
                    event.update(fields)
                    if fields.get("metrics") is not None:
                        event["metrics"] = _emitter.clean_metrics(fields["metrics"])
                try:
                    text = _json.dumps(event, separators=(",", ":"), allow_nan=False)
                except (TypeError, ValueError):
                    text = _json.dumps(_emitter._jsonable(event), separators=(",", ":"), allow_nan=False)
                return text.encode() + b"\n"

            _emitter.Emitter._encode = _encode
        if "batch512" in ABLATE:  # the writer encodes up to 512 events per send, as before
            _emitter.BATCH_EVENTS = 512
else:
    real_progress = noop_progress

if os.environ.get("BENCH_SWITCH_INTERVAL"):  # profiling: how the GIL hand-off interval matters
    import sys

    sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))

torch.manual_seed(0)
torch.set_num_threads(1)


def model():
    return torch.nn.Sequential(
        torch.nn.Linear(128, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10))


def batches():
    g = torch.Generator().manual_seed(1)
    data = [(torch.randn(64, 128, generator=g), torch.randint(0, 10, (64,), generator=g)) for _ in range(8)]
    i = 0
    while True:
        yield data[i % len(data)]
        i += 1


class Patches:
    """ranktop's wrappers on Accelerate's classes, so a segment can take them off and put them back."""

    def __init__(self):
        self.entries = []
        if LOOP != "accelerate" or MODE == "0":
            return
        import accelerate.accelerator
        import accelerate.optimizer
        import accelerate.state

        for cls in (accelerate.accelerator.Accelerator, accelerate.state.PartialState,
                    accelerate.optimizer.AcceleratedOptimizer):
            for name, value in list(vars(cls).items()):
                original = getattr(value, "__ranktop_original__", None)
                if original is not None:
                    self.entries.append((cls, name, value, original))

    def set(self, instrumented):
        for cls, name, wrapper, original in self.entries:
            setattr(cls, name, wrapper if instrumented else original)


def plan():
    """(label, steps) segments after the warm-up."""
    if MODE == "alt":
        segments = []
        for _ in range(SEGMENTS):
            segments += [("bare", STEPS), ("instrumented", STEPS)]
        return segments
    return [("instrumented" if MODE == "1" else "bare", STEPS) for _ in range(SEGMENTS)]


def run(step_once, patches):
    clock = time.perf_counter
    results = []
    step = 0
    for label, count in [("warmup", WARMUP)] + plan():
        instrumented = label == "instrumented" or (label == "warmup" and MODE != "0")
        patches.set(instrumented)
        progress = real_progress if instrumented else noop_progress
        times = []
        for _ in range(count):
            start = clock()
            step_once(step, progress)
            times.append(clock() - start)
            step += 1
        if label != "warmup":
            results.append({"mode": label, "times": times})
    patches.set(True)
    return results


def run_accelerate():
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    net, optimizer = accelerator.prepare(net, optimizer)
    loss_fn = torch.nn.CrossEntropyLoss()
    extra = EVENTS - 1 if EVENTS > 2 else 0
    data = batches()

    def step_once(step, progress):
        x, y = next(data)
        loss = loss_fn(net(x), y)
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        accelerator.gather(loss.detach())
        for _ in range(extra):
            progress(step, loss=1.0)
        accelerator.check_trigger()

    patches = Patches()
    accelerator.wait_for_everyone()
    results = run(step_once, patches)
    # Every rank leaves the last collective before any tears gloo down (else: std::terminate).
    accelerator.wait_for_everyone()
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    return accelerator.process_index, results


def run_torch():
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo")
    net = DistributedDataParallel(model())
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    world = dist.get_world_size()
    data = batches()

    def step_once(step, progress):
        x, y = next(data)
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        out = [torch.zeros(()) for _ in range(world)]
        dist.all_gather(out, loss.detach())
        for _ in range(EVENTS):
            progress(step, loss=1.0)

    dist.barrier()
    results = run(step_once, Patches())
    rank = dist.get_rank()
    dist.barrier()
    dist.destroy_process_group()
    return rank, results


rank, segments = run_accelerate() if LOOP == "accelerate" else run_torch()
if rank == 0 and os.environ.get("BENCH_OUT"):
    stats = ranktop.stats() if MODE != "0" else {}
    if MODE != "0":
        try:
            from ranktop._state import state

            emitter = state.emitter
        except ImportError:  # an adapter from before issue 10
            from ranktop import _runtime

            emitter = _runtime.emitter
        # How often emit woke the writer, and how often the writer woke at all (issue 10).
        stats["wakeups"] = getattr(emitter, "wakeups", None)
        stats["writer_cycles"] = getattr(emitter, "writer_cycles", None)
        stats["seconds"] = sum(sum(s["times"]) for s in segments)
        # CPU seconds the writer and control reader threads used over the whole run (Linux).
        stats["adapter_threads_cpu_s"] = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for thread in __import__("threading").enumerate():
            if thread.name.startswith("ranktop") and getattr(thread, "native_id", None):
                try:
                    with open("/proc/self/task/%d/stat" % thread.native_id) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    stats["adapter_threads_cpu_s"] += (int(fields[11]) + int(fields[12])) / tick
                except (OSError, IndexError, ValueError):
                    pass
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump({"segments": segments, "stats": stats}, f)
