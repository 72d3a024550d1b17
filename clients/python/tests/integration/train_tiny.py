"""A tiny Accelerate training script that knows nothing of ranktop (zero-code mode is under test).

Each rank prints one line `RESULT rank=R stopped_step=S checks=C` so tests can compare ranks.
"""

import argparse
import os
import time

import torch
from accelerate import Accelerator

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=6)
parser.add_argument("--stop-at", type=int, default=-1, help="the last rank calls set_trigger at this step")
parser.add_argument("--step-sleep", type=float, default=0.0)
parser.add_argument("--hold-step", type=int, default=-1, help="at this step, ranks meet in an extra barrier")
parser.add_argument("--hold-rank", type=int, default=-1, help="this rank arrives late to that barrier")
parser.add_argument("--hold-seconds", type=float, default=0.0)
parser.add_argument("--hold-until", default=None, help="the late rank arrives once this file exists (at most 120 s)")
args = parser.parse_args()

torch.manual_seed(0)
accelerator = Accelerator(cpu=True)

with accelerator.main_process_first():
    inputs = torch.randn(64, 4)
    targets = inputs.sum(dim=1, keepdim=True)

model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
model, optimizer = accelerator.prepare(model, optimizer)
accelerator.wait_for_everyone()

stopped_step = None
checks = 0
for step in range(args.steps):
    batch = slice((step % 8) * 8, (step % 8) * 8 + 8)
    loss = torch.nn.functional.mse_loss(model(inputs[batch]), targets[batch])
    accelerator.backward(loss)
    optimizer.step()
    optimizer.zero_grad()
    accelerator.log({"loss": loss.item()}, step=step)
    if step == args.stop_at and accelerator.process_index == accelerator.num_processes - 1:
        accelerator.set_trigger()
    if step == args.hold_step:
        if accelerator.process_index == args.hold_rank:
            time.sleep(args.hold_seconds)
            # Held until the test says so: a real hang for as long as the test needs one.
            deadline = time.monotonic() + 120
            while args.hold_until and not os.path.exists(args.hold_until) and time.monotonic() < deadline:
                time.sleep(0.05)
        accelerator.wait_for_everyone()
    checks += 1
    if accelerator.check_trigger():
        stopped_step = step
        break
    time.sleep(args.step_sleep)

accelerator.wait_for_everyone()
print("RESULT rank=%d stopped_step=%s checks=%d" % (accelerator.process_index, stopped_step, checks), flush=True)
accelerator.end_training()
