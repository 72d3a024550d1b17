"""The oldest supported Accelerate (0.23) next to the current one: the same patches, the same events.

scripts/test-python installs accelerate 0.23.0 (without dependencies) into a directory of its own
and names it in RANKTOP_OLD_ACCELERATE; this test puts it before the venv's accelerate. One process
(world 1): what is under test is that every patched method exists and behaves on that version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import zero_code_env
from tests.support.collector import FakeCollector

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent("""\
    import torch
    from accelerate import Accelerator
    accelerator = Accelerator(cpu=True)
    with accelerator.main_process_first():
        model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model, optimizer = accelerator.prepare(model, optimizer)
    for step in range(3):
        accelerator.backward(model(torch.ones(1, 2)).sum())
        optimizer.step()
        optimizer.zero_grad()
        if step == 1:
            accelerator.set_trigger()
        if accelerator.check_trigger():
            break
    accelerator.wait_for_everyone()
""")


@pytest.mark.parametrize("old", [False, True], ids=["accelerate-venv", "accelerate-0.23"])
def test_every_patched_method_reports_on_this_accelerate(old, tmp_path):
    overlay = os.environ.get("RANKTOP_OLD_ACCELERATE") if old else None
    if old and not overlay:
        pytest.skip("RANKTOP_OLD_ACCELERATE is not set (scripts/test-python sets it)")
    collector = FakeCollector("unix")
    try:
        script = tmp_path / "old.py"
        script.write_text(SCRIPT)
        env = zero_code_env(collector.address, fake=False)
        if overlay:
            env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], overlay])
        result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
        kinds = [e["kind"] for e in collector.events]
        hello = collector.events[0]
        if overlay:
            assert hello["runtime"].startswith("accelerate/0.23.0 torch/")
        assert hello["caps"] == ["inject", "stack"]
        assert kinds.count("phase.enter") == 1 and kinds.count("phase.exit") == 1
        assert [e["n"] for e in collector.of_kind("barrier.exit")] == [0, 1]
        assert [p["step"] for p in collector.of_kind("progress")] == [1, 2]
        assert [(c["n"], c["fired"]) for c in collector.of_kind("trigger.check")] == [(0, False), (1, True)]
        assert [t["source"] for t in collector.of_kind("trigger.set")] == ["code"]
        assert collector.problems == []
    finally:
        collector.close()
