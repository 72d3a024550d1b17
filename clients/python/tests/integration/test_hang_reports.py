"""Hangs as a user meets them, end to end: real torch on gloo under the real `ranktop run
--headless`, its collector capturing stacks on its own, and `ranktop report --json` of the live
log while the run is still hung (issue 11). Within 10 s of the stall the report must name the
ranks that wait, the op and the group they wait in, the rank that is missing, and that rank's
stack. A clean run must never be reported stalled."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from tests.conftest import line_of
from tests.integration.harness import RanktopRun, ranktop_binary
from tests.integration.test_collectives import ACCELERATE, ASYNC, CLEAN, DDP, MISMATCH
from tests.integration.torch_world import TORCHRUN

pytestmark = pytest.mark.integration

# The bound, from the moment the waiting rank is seen waiting to a report that says it all.
WITHIN = 10.0


@pytest.fixture
def run(tmp_path):
    run = RanktopRun(tmp_path)
    yield run
    # The launcher's own stop: it sends the ranks SIGINT (torchrun passes it on), then kills them.
    if run.process is not None and run.process.poll() is None:
        run.process.send_signal(signal.SIGINT)
        try:
            run.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            run.process.send_signal(signal.SIGINT)
            run.close()


def start(run, tmp_path, source, *args, ranks=2):
    script = tmp_path / "train.py"
    script.write_text(source)
    run.start([TORCHRUN, "--standalone", "--nproc_per_node", str(ranks), str(script), *args])


def report(run, *options):
    result = subprocess.run([ranktop_binary(), "report", "--json", *options, str(run.log)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def poll(run, predicate, timeout, what, alive=True):
    """The first report (of the live log) that satisfies `predicate`, and when it came; with
    `alive`, the run must still be going (a hang is checked while it hangs)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if run.log.exists():
            last = report(run)
            if predicate(last):
                return last, time.monotonic()
        assert not alive or run.process.poll() is None, "the run ended: %s" % run.process.communicate()[0][-3000:]
        time.sleep(0.25)
    raise AssertionError("no report %s within %.0f s; the last one:\n%s" % (what, timeout, json.dumps(last, indent=1)[-6000:]))


def waiting(op, label):
    """Rank 0 is inside an open collective of `op` carrying `label` (None: a direct call)."""
    def check(summary):
        collective = (summary["ranks"][0] if summary["ranks"] else {}).get("collective") or {}
        return collective.get("op") == op and collective.get("label") == label
    return check


def stack_of(summary, rank):
    return next((s for s in summary["stacks"] if s["rank"] == rank), None)


def assert_reported_within_bound(run, label, op, culprit_line, seq=None):
    """From the moment rank 0 is seen waiting in `label`, the report names everything in 10 s."""
    _, seen = poll(run, waiting(op, label), 150, "with rank 0 waiting in %s %s" % (op, label))

    def complete(summary):
        open_ = [c for c in summary["open_collectives"] if (c["op"], c["label"], c["missing"]) == (op, label, [1])]
        stack = stack_of(summary, 1)
        return bool(open_) and stack is not None and any(culprit_line in f for f in stack["frames"])

    summary, done = poll(run, complete, 60, "naming the wait, the missing rank and its stack")
    assert done - seen <= WITHIN, "took %.1f s from the stall to a full report" % (done - seen)
    (wait,) = [c for c in summary["open_collectives"] if (c["op"], c["label"], c["missing"]) == (op, label, [1])]
    assert (wait["group"], wait["op"], wait["arrived"]) == ("world", op, [0])
    if seq is not None:
        assert wait["seq"] == seq
    collective = summary["ranks"][0]["collective"]
    assert (collective["group"], collective["seq"], collective["op"]) == ("world", wait["seq"], op)
    assert summary["ranks"][1]["collective"] is None or summary["ranks"][1]["collective"]["seq"] < wait["seq"]
    # The diagnosis says the same in words: the wait, who is missing, and where that rank is.
    text = " ".join(summary["diagnosis"])
    title = "%s #%d" % (op, wait["seq"]) + (" " + label if label else "")
    assert title in text and "missing rank 1" in text
    assert culprit_line in text, "the diagnosis quotes the culprit's own frame"
    # With a short stall threshold the run is stalled, and the diagnosis leads with it.
    stalled = report(run, "--stall-after", "1")
    assert stalled["stall"] is not None and stalled["diagnosis"][0].startswith("run stalled")
    assert all(r["stalled"] for r in stalled["ranks"])
    return summary


def test_plain_ddp_with_a_stalled_rank(run, tmp_path):
    start(run, tmp_path, DDP)
    assert_reported_within_bound(run, "ddp.gradients", "all_reduce", "train.py:%d" % line_of(DDP, "# STALL"))


@pytest.mark.parametrize("stall", ["gather", "check_trigger"])
def test_accelerate_with_a_rank_stalled_before_a_collective(run, tmp_path, stall):
    start(run, tmp_path, ACCELERATE, stall)
    label, op = ("gather_for_metrics", "all_gather") if stall == "gather" else ("check_trigger", "all_reduce")
    marker = "stall == \"gather\"" if stall == "gather" else "stall == \"check_trigger\""
    # The sleeping line is the one after the `if` that names the stall.
    culprit = "train.py:%d" % (line_of(ACCELERATE, marker) + 1)
    assert_reported_within_bound(run, label, op, culprit)


def test_async_ops_are_waited_for_inside_work_wait(run, tmp_path):
    start(run, tmp_path, ASYNC)
    summary = assert_reported_within_bound(run, None, "all_reduce", "train.py:%d" % (line_of(ASYNC, "if rank == 1") + 1), seq=1)
    assert summary["ranks"][0]["collective"]["async"] is True


def test_an_op_mismatch_is_reported_while_the_ranks_hang(run, tmp_path):
    start(run, tmp_path, MISMATCH)
    # gloo may hang on the mismatch or fail at once: either way the report must say it.
    summary, _ = poll(run, lambda s: s["collective_mismatches"], 120, "with a collective mismatch", alive=False)
    (mismatch,) = summary["collective_mismatches"]
    assert (mismatch["group"], mismatch["seq"]) == ("world", 1)
    assert mismatch["ops"] == {"all_gather": [1], "all_reduce": [0]}
    assert any("mismatched" in line and "all_gather on rank 1" in line for line in summary["diagnosis"])


def test_a_clean_run_is_never_reported_stalled(run, tmp_path):
    start(run, tmp_path, CLEAN, ranks=3)
    run.wait(180)
    summary = report(run)
    assert summary["stall"] is None
    assert [r["stalled"] for r in summary["ranks"]] == [False, False, False]
    assert summary["open_collectives"] == [] and summary["collective_mismatches"] == []
    assert summary["completed_collectives"] > 0 and summary["dropped"] == 0 and summary["rejected"] == 0
    assert summary["diagnosis"] == ["run completed: all 3 ranks exited cleanly at step 3"]
