"""Real Accelerate and torch on CPU (gloo) under `torchrun --standalone --nproc_per_node 2`, launched
through `ranktop run --headless`, on a training script that never imports ranktop: everything the
log holds comes from zero-code mode."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from tests.conftest import line_of
from tests.integration.harness import TRAIN_TINY, RanktopRun, report, results, torchrun, wait_until

pytestmark = pytest.mark.integration

SOURCE = TRAIN_TINY.read_text()
RUN_TIMEOUT = 300


@pytest.fixture
def run(tmp_path):
    harness = RanktopRun(tmp_path)
    yield harness
    harness.close()


def of(events, kind, rank=None):
    return [e for e in events if e["kind"] == kind and (rank is None or e["rank"] == rank)]


def test_a_run_shows_hellos_main_first_phase_barriers_progress_checks_and_a_code_trigger_stop(run):
    run.start(torchrun("--steps", "8", "--stop-at", "3"))
    output = run.wait(RUN_TIMEOUT)
    assert results(output) == {0: ("3", 4), 1: ("3", 4)}, output
    events = run.events()

    hellos = of(events, "hello")
    assert sorted(h["rank"] for h in hellos) == [0, 1]
    versions = "accelerate/%s torch/%s" % (importlib.metadata.version("accelerate"),
                                           importlib.metadata.version("torch").split("+")[0])
    for hello in hellos:
        assert (hello["world"], hello["local_world"], hello["local_rank"]) == (2, 2, hello["rank"])
        assert hello["runtime"] == versions
        assert hello["timeout"] == 1800.0  # gloo's default collective timeout
        assert hello["caps"] == ["inject", "stack"]
    assert hellos[0]["run"] == hellos[1]["run"] != ""  # the run id `ranktop run` gave

    main_first = "train_tiny.py:%d" % line_of(SOURCE, "with accelerator.main_process_first():")
    phases = of(events, "phase.enter")
    assert sorted((p["rank"], p["name"], p["mode"], p["main"]) for p in phases) == [
        (0, main_first, "main_first", True), (1, main_first, "main_first", False)]
    assert len(of(events, "phase.exit")) == 2

    after_prepare = "train_tiny.py:%d" % (line_of(SOURCE, "model, optimizer = accelerator.prepare") + 1)
    for rank in (0, 1):
        barriers = of(events, "barrier.enter", rank)
        assert [b["n"] for b in barriers] == list(range(len(barriers)))
        assert barriers[0]["phase"] == main_first and barriers[0]["site"] == main_first
        assert barriers[1]["site"] == after_prepare and barriers[1]["name"] == after_prepare
        assert [e["n"] for e in of(events, "barrier.exit", rank)] == [b["n"] for b in barriers]

        steps = [p["step"] for p in of(events, "progress", rank) if "metrics" not in p]
        assert steps == [1, 2, 3, 4], "one progress event per optimizer step"
        assert all("loss" in p["metrics"] for p in of(events, "progress", rank) if "metrics" in p)

        checks = [(c["n"], c["fired"]) for c in of(events, "trigger.check", rank)]
        assert checks == [(0, False), (1, False), (2, False), (3, True)]
        assert of(events, "bye", rank) and "error" not in of(events, "bye", rank)[0]
    assert [(t["rank"], t["source"]) for t in of(events, "trigger.set")] == [(1, "code")]

    summary = report(run.log)
    # Nothing lost, collective lines included.
    assert summary["rejected"] == 0 and summary["dropped"] == 0
    assert summary["completed_collectives"] > 0 and summary["open_collectives"] == []
    assert summary["run"] == hellos[0]["run"]
    assert [r["state"] for r in summary["ranks"]] == ["exited", "exited"]
    assert [(t["check"], t["source"]) for t in summary["triggers"]] == [(3, "code")]
    assert summary["open_barriers"] == [] and summary["mismatches"] == []


def test_a_manual_trigger_mid_run_stops_both_ranks_at_the_same_check(run):
    run.start(torchrun("--steps", "2000", "--step-sleep", "0.02"))
    wait_until(run, lambda ev: all(len(of(ev, "trigger.check", r)) >= 10 for r in (0, 1)))
    injection = run.trigger("stop from the test")
    output = run.wait(RUN_TIMEOUT)
    stops = results(output)
    assert stops[0] == stops[1] and stops[0][0] != "None", output
    events = run.events()
    fired = {r: [c["n"] for c in of(events, "trigger.check", r) if c["fired"]] for r in (0, 1)}
    assert fired[0] == fired[1] and len(fired[0]) == 1
    assert fired[0][0] == stops[0][1] - 1, "the check that fired is the last the script made"
    manual = of(events, "trigger.set")
    assert manual and all(t["source"] == "manual" and t["id"] == injection for t in manual)
    assert all(t["reason"] == "stop from the test" for t in manual)


def test_a_stack_request_while_a_rank_waits_in_a_barrier_returns_its_stack(run, tmp_path):
    # Rank 1 holds rank 0 in the barrier until the stack has come back, not for a guessed time.
    release = tmp_path / "release"
    run.start(torchrun("--steps", "4", "--hold-step", "1", "--hold-rank", "1", "--hold-until", str(release)))
    held_barrier = line_of(SOURCE, "        accelerator.wait_for_everyone()")
    site = "train_tiny.py:%d" % held_barrier
    wait_until(run, lambda ev: any(b["site"] == site for b in of(ev, "barrier.enter", 0)))
    request = run.request_stack(0)
    # The answer to this request (the collector's own capture may have asked too, once the
    # barrier was open --stack-after seconds).
    answers = lambda ev: [s for s in of(ev, "stack", 0) if s["id"] == request]
    events = wait_until(run, answers, timeout=5)  # the log is flushed every second
    release.touch()
    n = [b["n"] for b in of(events, "barrier.enter", 0) if b["site"] == site][0]
    assert n not in [e["n"] for e in of(events, "barrier.exit", 0)], "answered while rank 0 still waited"
    stack = answers(events)[0]
    frames = stack["frames"]
    assert any(("train_tiny.py:%d in <module>" % held_barrier) in f for f in frames), frames
    assert "barrier" in frames[-1] or "wait" in frames[-1], frames[-1]
    run.wait(RUN_TIMEOUT)


def test_a_hung_barrier_leaves_both_ranks_stacks_in_the_log_with_nobody_watching(run, tmp_path):
    # Rank 1 keeps rank 0 in the barrier until both stacks are in the log; nobody asks for them.
    release = tmp_path / "release"
    run.start(torchrun("--steps", "4", "--hold-step", "1", "--hold-rank", "1", "--hold-until", str(release)),
              options=["--stack-after", "1"])
    held_barrier = line_of(SOURCE, "        accelerator.wait_for_everyone()")
    events = wait_until(run, lambda ev: {e["rank"] for e in of(ev, "stack")} == {0, 1})
    release.touch()
    stacks = {e["rank"]: e for e in of(events, "stack")}
    assert all(s["id"].startswith("stk-auto-") for s in stacks.values()), stacks
    # Rank 0 waits in torch's barrier, called from the script's wait_for_everyone; rank 1, the
    # culprit, is still in the script's own hold loop.
    assert "train_tiny.py:%d in <module>" % held_barrier in "\n".join(stacks[0]["frames"]), stacks[0]["frames"]
    assert "barrier" in stacks[0]["frames"][-1], stacks[0]["frames"][-1]
    assert "train_tiny.py" in stacks[1]["frames"][-1], stacks[1]["frames"]
    entered = [b["ts"] for b in of(events, "barrier.enter", 0) if b["site"].endswith(":%d" % held_barrier)][0]
    assert max(s["ts"] for s in stacks.values()) - entered < 1 + 4, "captured long after the threshold"
    run.wait(RUN_TIMEOUT)


def test_ranktop_launch_instruments_plain_python_ranks_too(run):
    run.start([sys.executable, str(TRAIN_TINY), "--steps", "3", "--stop-at", "1"], launch_ranks=2)
    output = run.wait(RUN_TIMEOUT)
    assert results(output) == {0: ("1", 2), 1: ("1", 2)}, output
    events = run.events()
    assert sorted((h["rank"], h["world"]) for h in of(events, "hello")) == [(0, 2), (1, 2)]
    summary = report(run.log)
    assert [r["state"] for r in summary["ranks"]] == ["exited", "exited"]
    assert [(t["check"], t["source"]) for t in summary["triggers"]] == [(1, "code")]
    assert len(summary["phases"]) == 1 and summary["open_barriers"] == []


def test_ranktop_run_around_accelerate_launch_reports_the_ranks_and_not_the_launcher(run):
    accelerate = str(Path(sys.executable).parent / "accelerate")
    run.start([accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", str(TRAIN_TINY), "--steps", "3"])
    output = run.wait(RUN_TIMEOUT)
    assert results(output) == {0: ("None", 3), 1: ("None", 3)}, output
    events = run.events()
    # The launcher process imports accelerate too, but never sets up a state: it stays silent.
    assert sorted(h["rank"] for h in of(events, "hello")) == [0, 1]
    for rank in (0, 1):
        assert [p["step"] for p in of(events, "progress", rank) if "metrics" not in p] == [1, 2, 3]
    summary = report(run.log)
    assert [r["state"] for r in summary["ranks"]] == ["exited", "exited"]
