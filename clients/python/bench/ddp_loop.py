"""One rank of bench_collectives.py's step-time figures: a small DDP loop on gloo (CPU).

Each step: forward, backward (DDP's gradient all-reduce), optimizer step (progress, when
instrumented). Rank 0 writes its step times to BENCH_OUT. The script knows nothing of ranktop
unless BENCH_ALT=K: then, instrumented by zero-code mode, it runs K pairs of bare and instrumented
segments of 20 steps after 30 warm-up steps, taking ranktop off for the bare ones (the process
group's hooks unregistered, DDP.forward unwrapped, torch's optimizer hook removed). Without
BENCH_ALT: BENCH_STEPS (200) steps after BENCH_WARMUP (30), median and p90.
"""

import json
import os
import statistics
import time

import torch
import torch.distributed as dist

WARMUP = int(os.environ.get("BENCH_WARMUP", "30"))
STEPS = int(os.environ.get("BENCH_STEPS", "200"))
ALT = int(os.environ.get("BENCH_ALT", "0"))
SEGMENT = 20

dist.init_process_group("gloo")
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(
    torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
inputs, targets = torch.randn(64, 256), torch.randint(0, 10, (64,))


def step():
    start = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(inputs), targets)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return time.perf_counter() - start


def ranktop_switch():
    """on(True/False): ranktop's collective reporting on or off in this process."""
    import torch.optim.optimizer as optimizer_module
    from ranktop import _collectives, _pg_hooks, _torch_patches

    ddp = torch.nn.parallel.DistributedDataParallel
    wrapped_forward = ddp.__dict__["forward"]
    original_forward = getattr(wrapped_forward, "__ranktop_original__", wrapped_forward)
    pg = dist.distributed_c10d._get_default_group()
    hooks = _collectives.groups.world.hooks
    handle = _torch_patches.step_hook_handle
    step_hook = optimizer_module._global_optimizer_post_hooks.get(handle.id) if handle is not None else None

    # BENCH_ONLY=hooks,forward,step: the parts of ranktop an instrumented segment turns on (all).
    only = set(os.environ.get("BENCH_ONLY", "hooks,forward,step").split(","))

    def on(enabled):
        ddp.forward = wrapped_forward if enabled and "forward" in only else original_forward
        if hooks is not None and "hooks" in only:
            if enabled:
                pg.register_pre_hook(_pg_hooks.HOOK_ID, hooks[0])
                pg.register_post_hook(_pg_hooks.HOOK_ID, hooks[1])
            else:
                pg.unregister_pre_hook(_pg_hooks.HOOK_ID)
                pg.unregister_post_hook(_pg_hooks.HOOK_ID)
        if step_hook is not None and "step" in only:
            if enabled:
                optimizer_module._global_optimizer_post_hooks[handle.id] = step_hook
            else:
                optimizer_module._global_optimizer_post_hooks.pop(handle.id, None)

    return on


result = {}
if ALT:
    on = ranktop_switch()
    for _ in range(WARMUP):
        step()
    result = {"bare": [], "instrumented": []}
    for pair in range(ALT):
        order = ("bare", "instrumented") if pair % 2 == 0 else ("instrumented", "bare")
        for side in order:
            on(side == "instrumented")
            result[side].append(statistics.median(step() for _ in range(SEGMENT)) * 1000)
    on(True)
else:
    times = [step() for _ in range(WARMUP + STEPS)][WARMUP:]
    result = {"median_ms": statistics.median(times) * 1000, "p90_ms": sorted(times)[int(len(times) * 0.9)] * 1000}
if dist.get_rank() == 0:
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump(result, f)
dist.destroy_process_group()
