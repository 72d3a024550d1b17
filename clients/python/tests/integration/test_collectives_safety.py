"""The collective wrappers never hurt the run: with the adapter's own emitter failing on every call,
torch.distributed still computes, returns its own Work objects, and raises the user's errors
unchanged; the adapter only counts its errors. Real torch, a gloo world of 1, zero-code mode."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import zero_code_env
from tests.support.collector import FakeCollector

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent("""\
    import sys, torch, torch.distributed as dist
    dist.init_process_group("gloo", init_method="file://" + sys.argv[1], rank=0, world_size=1)
    import ranktop
    from ranktop._state import state
    assert ranktop.stats()["reporting"], "zero-code mode said hello at init_process_group"
    original = dist.all_reduce.__ranktop_original__
    bare_type = type(original(torch.ones(1), async_op=True))

    def broken(*args, **kwargs):
        raise RuntimeError("the adapter's emitter is broken")

    state.emitter.emit = broken  # every event the adapter makes now fails inside it
    t = torch.full((3,), 2.0)
    dist.all_reduce(t)
    assert t.tolist() == [2.0, 2.0, 2.0]
    work = dist.all_reduce(t, async_op=True)
    assert type(work) is bare_type, type(work)  # the Work torch made, not a wrapper
    work.wait()
    out = torch.zeros(3)
    dist.all_gather_into_tensor(out, t)
    objects = [None]
    dist.all_gather_object(objects, {"a": 1})
    assert objects == [{"a": 1}]
    dist.barrier()
    try:
        dist.all_reduce("not a tensor")
    except Exception as error:
        mine = (type(error), str(error))
    try:
        original("not a tensor")
    except Exception as error:
        assert mine == (type(error), str(error)), (mine, error)
    assert ranktop.stats()["errors"] > 0
    print("OK errors=%d" % ranktop.stats()["errors"], flush=True)
""")


def test_collectives_work_unchanged_while_the_adapter_fails_inside(tmp_path):
    collector = FakeCollector("unix")
    try:
        script = tmp_path / "safety.py"
        script.write_text(SCRIPT)
        result = subprocess.run([sys.executable, str(script), str(tmp_path / "store")], capture_output=True, text=True,
                                env=zero_code_env(collector.address, fake=False), timeout=120)
        assert result.returncode == 0 and "OK errors=" in result.stdout, result.stdout + result.stderr[-3000:]
        assert collector.wait_for(lambda c: c.of_kind("hello"))
        assert collector.of_kind("hello")[0]["runtime"].startswith("torch/")
    finally:
        collector.close()


COMPLETION = textwrap.dedent("""\
    import sys, torch, torch.distributed as dist
    dist.init_process_group("gloo", init_method="file://" + sys.argv[1], rank=0, world_size=1)
    from ranktop import _collectives
    from ranktop._state import state
    emitter = state.emitter
    emitter.tick = None  # the writer does not poll: this script does, to see each step
    seen = []
    emit = emitter.emit
    def record(kind, fields=None):
        seen.append((kind, dict(fields or {})))
        emit(kind, fields)
    emitter.emit = record
    t = torch.ones(3)
    dist.all_reduce(t)
    # Returned, but on an accelerator that is only "queued": the exit waits for the work.
    assert [k for k, _ in seen] == ["collective.enter"], seen
    assert len(_collectives._pending) == 1
    work = _collectives._pending[0][0]
    assert work.is_completed()
    _collectives.poll()
    assert [k for k, _ in seen] == ["collective.enter", "collective.exit"], seen
    assert seen[1][1]["n"] == seen[0][1]["n"] == 0 and _collectives._pending == []
    objects = [None]
    dist.all_gather_object(objects, 1)  # objects, not tensors: exits at return as before
    assert [k for k, _ in seen][2:] == ["collective.enter", "collective.exit"], seen
    print("OK", flush=True)
""")


def test_a_blocking_call_on_accelerator_tensors_exits_when_its_work_completes(tmp_path):
    # RANKTOP_COMPLETION_EXITS=1 treats gloo's CPU tensors as an accelerator's (NCCL's blocking
    # calls return once queued), so the path runs here: post hook -> the call's Work -> the poll.
    collector = FakeCollector("unix")
    try:
        script = tmp_path / "completion.py"
        script.write_text(COMPLETION)
        env = zero_code_env(collector.address, {"RANKTOP_COMPLETION_EXITS": "1"}, fake=False)
        result = subprocess.run([sys.executable, str(script), str(tmp_path / "store")], capture_output=True, text=True,
                                env=env, timeout=120)
        assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr[-3000:]
    finally:
        collector.close()
