"""torch.distributed collectives under zero-code mode: real torch, CPU gloo, torchrun worlds of 2
and 3 ranks, scripts that never import ranktop. Hung runs are checked while they hang (the stalled
rank sleeps far longer than the test waits), then killed."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import textwrap
from collections import Counter

import pytest

from tests.conftest import line_of
from tests.integration.harness import RanktopRun, rejected_by_collector, ranktop_binary, report
from tests.integration.torch_world import TORCHRUN, TorchWorld, open_enters

pytestmark = pytest.mark.integration

TORCH_VERSION = importlib.metadata.version("torch").split("+")[0]


@pytest.fixture
def world(tmp_path):
    run = TorchWorld(tmp_path)
    yield run
    run.close()


def of(events, kind, rank=None):
    return [e for e in events if e["kind"] == kind and (rank is None or e["rank"] == rank)]


DDP = textwrap.dedent("""\
    import sys, time, torch, torch.distributed as dist
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))  # DDP-INIT
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(4):
        if step == 2 and rank == 1:
            time.sleep(120)  # STALL: rank 0 waits in this step's gradient all-reduce
        loss = model(torch.randn(8, 4)).pow(2).mean()
        loss.backward()  # BACKWARD
        optimizer.step()
        optimizer.zero_grad()
    dist.destroy_process_group()
""")


@pytest.mark.parametrize("hooks", ["pg-hooks", "comm-hook-fallback"])
def test_plain_ddp_with_a_stalled_rank_leaves_rank_0_in_the_gradient_all_reduce(world, hooks):
    world.start(DDP, env={"RANKTOP_PG_HOOKS": "0"} if hooks == "comm-hook-fallback" else {})

    def rank_0_hangs_in_gradients(events):
        return len(of(events, "progress", 1)) == 2 and any(
            e.get("label") == "ddp.gradients" for e in open_enters(events, 0))

    events = world.wait_until(rank_0_hangs_in_gradients)
    assert world.collector.problems == []
    for rank in (0, 1):
        (hello,) = of(events, "hello", rank)
        assert hello["runtime"] == "torch/%s gloo" % TORCH_VERSION
        assert (hello["world"], hello["local_rank"], hello["timeout"]) == (2, rank, 1800.0)
        assert hello["caps"] == ["stack"], "no check_trigger, no injections"
        # Steps 0 and 1 finished on both ranks: one progress per optimizer step.
        assert [p["step"] for p in of(events, "progress", rank)][:2] == [1, 2]

    (hung,) = open_enters(events, 0)
    assert (hung["group"], hung["op"], hung["label"], hung["async"]) == ("world", "all_reduce", "ddp.gradients", True)
    assert hung["bytes"] == 5 * 4 and hung["dtype"] == "float32"  # Linear(4, 1): one bucket, 5 floats
    assert hung["site"] == "train.py:%d" % line_of(DDP, "# BACKWARD")
    assert not [e for e in of(events, "collective.enter", 1) if e["n"] >= hung["n"]], "rank 1 never got there"
    assert open_enters(events, 1) == []
    gradients = [e for e in of(events, "collective.enter", 0) if e.get("label") == "ddp.gradients"]
    assert len(gradients) == 3, "steps 0 and 1, and the hung step 2"
    if hooks == "pg-hooks":
        # The construction collectives torch issues from C++, seen by the process-group hooks.
        init = [e for e in of(events, "collective.enter", 0) if e.get("label") == "ddp.init"]
        assert init and all(e["site"] == "train.py:%d" % line_of(DDP, "# DDP-INIT") for e in init)
        assert {e["op"] for e in init} >= {"broadcast"}


ACCELERATE = textwrap.dedent("""\
    import sys, time, torch
    from accelerate import Accelerator
    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    stall = sys.argv[1]
    accelerator.wait_for_everyone()  # BARRIER
    for step in range(3):
        metric = torch.tensor([float(rank + step)])
        if step == 1 and rank == 1 and stall == "gather":
            time.sleep(120)
        gathered = accelerator.gather_for_metrics(metric)  # GATHER
        if step == 1 and rank == 1 and stall == "check_trigger":
            time.sleep(120)
        accelerator.check_trigger()  # CHECK
    accelerator.wait_for_everyone()
""")


@pytest.mark.parametrize("stall", ["gather", "check_trigger"])
def test_a_rank_stalled_before_an_accelerate_collective_leaves_the_other_open_in_it(world, stall):
    world.start(ACCELERATE, args=[stall])
    label = "gather_for_metrics" if stall == "gather" else "check_trigger"
    # Rank 1's last events before its stall travel on its own connection: wait for them as well.
    events = world.wait_until(lambda ev: any(e.get("label") == label for e in open_enters(ev, 0))
                              and all(of(ev, "trigger.check", r) for r in (0, 1)))
    assert world.collector.problems == []
    (hung,) = open_enters(events, 0)
    marker = "# GATHER" if stall == "gather" else "# CHECK"
    assert hung["site"] == "train.py:%d" % line_of(ACCELERATE, marker)
    assert hung["op"] == ("all_gather" if stall == "gather" else "all_reduce")
    assert hung["group"] == "world" and hung["size"] == 2
    assert not [e for e in of(events, "collective.enter", 1) if e["n"] >= hung["n"]]
    for rank in (0, 1):
        assert of(events, "hello", rank)[0]["runtime"].startswith("accelerate/")
        # wait_for_everyone is one barrier (torch's barrier inside it is not a second event).
        assert [b["n"] for b in of(events, "barrier.enter", rank)] == [0]
        assert not [e for e in of(events, "collective.enter", rank) if e["op"] == "barrier"]
        # Every collective carries the Accelerate call that issued it, not its own event.
        labels = [e["label"] for e in of(events, "collective.enter", rank)]
        assert set(labels) <= {"gather_for_metrics", "check_trigger"}
        assert labels[:2] == ["gather_for_metrics", "check_trigger"]
        # The existing trigger events stay: step 0's check finished on both ranks.
        assert [(c["n"], c["fired"]) for c in of(events, "trigger.check", rank)][:1] == [(0, False)]


MISMATCH = textwrap.dedent("""\
    import torch, torch.distributed as dist
    dist.init_process_group("gloo")
    t = torch.ones(4)
    dist.all_reduce(t)
    if dist.get_rank() == 0:
        dist.all_reduce(t)  # REDUCE
    else:
        dist.all_gather([torch.zeros(4), torch.zeros(4)], t)  # GATHER
    dist.barrier()
""")


def test_an_op_mismatch_shows_as_two_ops_at_the_same_ordinal(world):
    world.start(MISMATCH)
    events = world.wait_until(lambda ev: all(
        any(e["n"] == 1 for e in of(ev, "collective.enter", r)) for r in (0, 1)))
    world.kill()  # gloo may hang or fail on the mismatch: either way, both enters are in
    first = {r: [e for e in of(events, "collective.enter", r) if e["n"] == 1][0] for r in (0, 1)}
    assert (first[0]["op"], first[1]["op"]) == ("all_reduce", "all_gather")
    assert first[0]["group"] == first[1]["group"] == "world"
    assert first[0]["site"] == "train.py:%d" % line_of(MISMATCH, "# REDUCE")
    assert first[1]["site"] == "train.py:%d" % line_of(MISMATCH, "# GATHER")
    assert [e["op"] for e in of(events, "collective.enter", 0) if e["n"] == 0] == ["all_reduce"]


ASYNC = textwrap.dedent("""\
    import time, torch, torch.distributed as dist
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    t = torch.ones(16)
    work = dist.all_reduce(t, async_op=True)  # ISSUE-0
    open("issued-%d" % rank, "w").close()
    work.wait()
    dist.barrier()
    if rank == 1:
        time.sleep(120)
    work = dist.all_reduce(t, async_op=True)  # ISSUE-1
    work.wait()
""")


def test_an_async_all_reduce_is_open_until_its_work_completes(world):
    world.start(ASYNC)
    # Rank 1's events up to its stall (its barrier's exit) travel on its own connection: wait for them.
    events = world.wait_until(lambda ev: any(e["n"] == 1 for e in open_enters(ev, 0)) and of(ev, "barrier.exit", 1))
    assert world.collector.problems == []
    for rank in (0, 1):
        first = [e for e in of(events, "collective.enter", rank) if e["n"] == 0][0]
        assert first["async"] is True and first["op"] == "all_reduce" and first["bytes"] == 64
        assert first["site"] == "train.py:%d" % line_of(ASYNC, "# ISSUE-0")
        (done,) = [e for e in of(events, "collective.exit", rank) if e["n"] == 0]
        assert done["seq"] > first["seq"]
    (hung,) = open_enters(events, 0)
    assert hung["async"] is True and hung["site"] == "train.py:%d" % line_of(ASYNC, "# ISSUE-1")
    assert not [e for e in of(events, "collective.enter", 1) if e["n"] == 1]
    # Issued, then blocked in wait(): the exit is the work's completion, not the call's return.
    assert (world.directory / "issued-0").exists()


CLEAN = textwrap.dedent("""\
    import torch, torch.distributed as dist
    dist.init_process_group("gloo")
    rank, size = dist.get_rank(), dist.get_world_size()
    t = torch.ones(8)
    dist.all_reduce(t)
    dist.broadcast(t, src=0)
    out = torch.zeros(8 * size)
    dist.all_gather_into_tensor(out, t)
    objects = [None] * size
    dist.all_gather_object(objects, {"rank": rank})  # OBJECTS
    dist.reduce_scatter_tensor(torch.zeros(8), torch.ones(8 * size))
    dist.all_to_all_single(torch.zeros(size * 2), torch.ones(size * 2))
    pair = dist.new_group([0, 1])
    if rank in (0, 1):
        dist.all_reduce(t, group=pair)  # PAIR
        if rank == 0:
            dist.send(t, dst=1)
        else:
            dist.recv(t, src=0)
    dist.barrier()  # BARRIER
    dist.monitored_barrier()
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(3):
        model(torch.randn(4, 8)).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
    dist.destroy_process_group()
""")


def test_a_clean_three_rank_run_closes_every_collective_and_counts_agree(world, tmp_path):
    world.start(CLEAN, ranks=3)
    world.finish()
    events = world.wait_until(lambda ev: len(of(ev, "bye")) == 3, timeout=10)
    assert world.collector.problems == []
    per_group = {}
    for rank in range(3):
        assert open_enters(events, rank) == [], "every enter has its exit"
        (bye,) = of(events, "bye", rank)
        assert "error" not in bye and bye.get("code", 0) == 0
        enters = of(events, "collective.enter", rank)
        for group in {e["group"] for e in enters}:
            ns = [e["n"] for e in enters if e["group"] == group]
            assert ns == list(range(len(ns))), "ordinals per group count from 0, no gaps"
        per_group[rank] = Counter(e["group"] for e in enters)
        world_ops = [(e["op"], e.get("label")) for e in enters if e["group"] == "world"][:6]
        # all_gather_object runs two all-gathers inside: it counts once, as itself.
        assert world_ops == [("all_reduce", None), ("broadcast", None), ("all_gather", "all_gather_into_tensor"),
                             ("all_gather_object", None), ("reduce_scatter", "reduce_scatter_tensor"),
                             ("all_to_all", "all_to_all_single")]
        objects = [e for e in enters if e["op"] == "all_gather_object"][0]
        assert objects["site"] == "train.py:%d" % line_of(CLEAN, "# OBJECTS")
        assert len([e for e in enters if e.get("label") == "ddp.gradients"]) == 3
        barriers = of(events, "barrier.enter", rank)
        assert [b["n"] for b in barriers] == [0, 1] and barriers[0]["site"] == "train.py:%d" % line_of(CLEAN, "# BARRIER")
        assert [p["step"] for p in of(events, "progress", rank)] == [1, 2, 3]
    assert per_group[0]["world"] == per_group[1]["world"] == per_group[2]["world"]
    # The pair group and the point-to-point message: only their members, the same counts.
    pair_groups = [g for g in per_group[0] if g not in ("world",) and not g.startswith("p2p:")]
    assert len(pair_groups) == 1 and per_group[0][pair_groups[0]] == per_group[1][pair_groups[0]] == 1
    assert pair_groups[0] not in per_group[2]
    first_pair = [e for e in of(events, "collective.enter", 0) if e["group"] == pair_groups[0]][0]
    assert first_pair["members"] == [0, 1] and first_pair["size"] == 2
    assert per_group[0]["p2p:0>1"] == per_group[1]["p2p:0>1"] == 1
    sent, received = (of(events, "collective.enter", r) for r in (0, 1))
    assert [e.get("label") for e in sent if e["group"] == "p2p:0>1"] == ["send"]
    assert [e.get("label") for e in received if e["group"] == "p2p:0>1"] == ["recv"]

    # Everything the adapter sent is valid for the Swift decoder, and the model closes it all.
    result = subprocess.run([ranktop_binary(), "report", "--json", str(world.log)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rejected"] == 0 and summary["dropped"] == 0
    assert [r["state"] for r in summary["ranks"]] == ["exited"] * 3
    assert summary["open_barriers"] == [] and summary["open_collectives"] == []
    assert summary["collective_mismatches"] == [] and summary["stall"] is None
    assert summary["completed_collectives"] > 0


PLAIN = textwrap.dedent("""\
    import torch, torch.distributed as dist
    dist.init_process_group("gloo")
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(3):
        model(torch.randn(8, 4)).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
    dist.barrier()  # BARRIER
    dist.destroy_process_group()
""")


def test_a_plain_torch_script_under_ranktop_run_reports_without_accelerate(tmp_path):
    # The real CLI and collector: `ranktop run --headless -- torchrun ...` on a script that imports
    # neither ranktop nor accelerate.
    script = tmp_path / "plain.py"
    script.write_text(PLAIN)
    run = RanktopRun(tmp_path)
    try:
        run.start([TORCHRUN, "--standalone", "--nproc_per_node", "2", str(script)])
        run.wait(120)
        events = run.events()
    finally:
        run.close()
    for rank in (0, 1):
        (hello,) = of(events, "hello", rank)
        assert hello["runtime"] == "torch/%s gloo" % TORCH_VERSION and hello["world"] == 2
        assert [p["step"] for p in of(events, "progress", rank)] == [1, 2, 3]
        (barrier,) = of(events, "barrier.enter", rank)
        assert barrier["site"] == "plain.py:%d" % line_of(PLAIN, "# BARRIER")
        assert [e["n"] for e in of(events, "barrier.exit", rank)] == [0]
        (bye,) = of(events, "bye", rank)
        assert "error" not in bye
    summary = report(run.log)
    assert [r["state"] for r in summary["ranks"]] == ["exited", "exited"]
    # The collectives reached the log whole, and the model closed every one of them.
    assert of(events, "collective.enter") and rejected_by_collector(events) == 0
    assert summary["rejected"] == 0 and summary["dropped"] == 0
    assert summary["completed_collectives"] > 0 and summary["open_collectives"] == []


FSDP2 = textwrap.dedent("""\
    import torch, torch.distributed as dist
    from torch.distributed.fsdp import fully_shard
    dist.init_process_group("gloo")
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 2))
    for layer in model:
        fully_shard(layer)
    fully_shard(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(2):
        model(torch.randn(4, 8)).sum().backward()  # STEP
        optimizer.step()
        optimizer.zero_grad()
    dist.destroy_process_group()
""")


def test_fsdp2_all_gathers_and_reduce_scatters_carry_fsdp_labels(world):
    world.start(FSDP2)
    world.finish()
    events = world.wait_until(lambda ev: len(of(ev, "bye")) == 2, timeout=10)
    assert world.collector.problems == []
    for rank in (0, 1):
        enters = of(events, "collective.enter", rank)
        # Per step: one all-gather per layer forward and backward, one reduce-scatter per layer.
        assert [(e["op"], e["label"]) for e in enters] == 2 * (
            4 * [("all_gather", "fsdp.all_gather")] + 2 * [("reduce_scatter", "fsdp.reduce_scatter")])
        assert {e["site"] for e in enters} == {"train.py:%d" % line_of(FSDP2, "# STEP")}
        assert open_enters(events, rank) == []
        assert [p["step"] for p in of(events, "progress", rank)] == [1, 2]


ACCELERATE_APIS = textwrap.dedent("""\
    import torch
    from accelerate import Accelerator
    from accelerate.utils import broadcast, broadcast_object_list, gather_object
    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    value = torch.tensor([float(rank)])
    accelerator.reduce(value, reduction="sum")
    accelerator.pad_across_processes(torch.ones(rank + 1), dim=0)
    accelerator.gather(value)
    broadcast(value, from_process=0)
    broadcast_object_list([rank], from_process=0)
    gather_object([rank])
    accelerator.check_trigger()
""")


def test_accelerate_apis_label_the_collectives_inside_them(world):
    world.start(ACCELERATE_APIS)
    world.finish()
    events = world.wait_until(lambda ev: len(of(ev, "bye")) == 2, timeout=10)
    assert world.collector.problems == []
    for rank in (0, 1):
        enters = of(events, "collective.enter", rank)
        labels = [e["label"] for e in enters]
        # pad_across_processes gathers the sizes first; each API's collectives carry its name only.
        assert labels == ["reduce", "pad_across_processes", "gather", "broadcast", "broadcast_object_list",
                          "gather_object", "check_trigger"], labels
        assert [e["op"] for e in enters] == ["all_reduce", "all_gather", "all_gather", "broadcast",
                                             "broadcast_object_list", "all_gather_object", "all_reduce"]
        assert open_enters(events, rank) == []
        assert [(c["n"], c["fired"]) for c in of(events, "trigger.check", rank)] == [(0, False)]


def _collectives_of(world_run) -> dict:
    """Each rank's collective events with the fields that vary run to run (times, sequence) left out, in order."""
    varying = {"ts", "seq", "t", "dur", "elapsed"}
    return {rank: [{k: v for k, v in e.items() if k not in varying}
                   for e in world_run.events() if e["rank"] == rank and e["kind"].startswith("collective.")]
            for rank in range(3)}


def test_the_c_wrapper_emits_exactly_what_the_python_wrapper_emits(tmp_path):
    from ranktop import _native

    assert hasattr(_native, "CollectiveCall"), "the C body of the collective wrapper was not built"
    # CLEAN's DDP buckets come through the process-group hooks, whose bodies RANKTOP_PYTHON_WRAPPER=1
    # also switches to Python: the comparison covers both.
    assert hasattr(_native, "ProcessGroupHook"), "the C bodies of the process-group hooks were not built"
    emitted = {}
    for body, env in (("c", {}), ("python", {"RANKTOP_PYTHON_WRAPPER": "1"})):
        (tmp_path / body).mkdir()
        run = TorchWorld(tmp_path / body)
        try:
            run.start(CLEAN, ranks=3, env=env)
            run.finish()
            run.wait_until(lambda ev: len(of(ev, "bye")) == 3, timeout=10)
            emitted[body] = _collectives_of(run)
        finally:
            run.close()
    # An async collective's exit is emitted when its work completes, so where it falls among the next
    # bucket's enters is timing; enters come in program order, and each (group, n) pair is compared whole.
    def enters(events):
        return [e for e in events if e["kind"] == "collective.enter"]

    def by_collective(events):
        return sorted(events, key=lambda e: (e["group"], e["n"], e["kind"]))

    for rank in range(3):
        c_events, python_events = emitted["c"][rank], emitted["python"][rank]
        assert len(c_events) == len(python_events) > 20
        assert enters(c_events) == enters(python_events)
        for c_event, python_event in zip(by_collective(c_events), by_collective(python_events)):
            assert c_event == python_event
