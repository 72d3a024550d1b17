"""One rank of bench_collectives.py's step-time figure: a small DDP loop on gloo (CPU).

Each step: forward, backward (DDP's gradient all-reduce), optimizer step (progress, when
instrumented). Rank 0 writes its median step time (ms) over BENCH_STEPS steps after BENCH_WARMUP
to BENCH_OUT. Knows nothing of ranktop: zero-code mode instruments it or not.
"""

import json
import os
import statistics
import time

import torch
import torch.distributed as dist

WARMUP = int(os.environ.get("BENCH_WARMUP", "30"))
STEPS = int(os.environ.get("BENCH_STEPS", "200"))

dist.init_process_group("gloo")
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Sequential(
    torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
inputs, targets = torch.randn(64, 256), torch.randint(0, 10, (64,))
times = []
for step in range(WARMUP + STEPS):
    start = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(inputs), targets)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if step >= WARMUP:
        times.append(time.perf_counter() - start)
if dist.get_rank() == 0:
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump({"median_ms": statistics.median(times) * 1000, "p90_ms": sorted(times)[int(len(times) * 0.9)] * 1000}, f)
dist.destroy_process_group()
