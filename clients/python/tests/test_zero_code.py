"""Zero-code mode against the fake accelerate: scripts that never import ranktop, run as real processes."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import AUTOLOAD, PY_DIR, line_of, zero_code_env

TRAIN = textwrap.dedent("""\
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState, PartialState
    from accelerate.utils import wait_for_everyone

    accelerator = Accelerator()
    with accelerator.main_process_first():  # MAIN-FIRST
        dataset = list(range(8))
    with accelerator.local_main_process_first():  # LOCAL-FIRST
        pass
    accelerator.wait_for_everyone()  # ACCELERATOR-BARRIER
    AcceleratorState().wait_for_everyone()  # STATE-BARRIER
    wait_for_everyone()  # UTILS-BARRIER
    optimizer = accelerator.prepare_optimizer()
    for step in range(4):
        accelerator.gradient_state.sync_gradients = step % 2 == 1  # accumulate two micro-steps
        optimizer.step()
    accelerator.log({"loss": 0.5, "lr": 1e-3})
    accelerator.save_state()  # SAVE
    fired = [accelerator.check_trigger() for _ in range(2)]
    print("FIRED", fired)
""")


def events_by_rank(collector, world):
    return {rank: [e for e in collector.events if e["rank"] == rank] for rank in range(world)}


def test_a_two_rank_script_reports_hellos_phases_barriers_progress_and_bye(collector, spawn):
    ranks = spawn(TRAIN, world=2, address=collector.address)
    for code, output in ranks.wait():
        assert code == 0, output
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 2)
    assert collector.problems == []
    streams = events_by_rank(collector, 2)
    for rank, events in streams.items():
        assert [e["seq"] for e in events] == list(range(len(events))), "no gaps, no reordering"
        hello = events[0]
        assert hello["kind"] == "hello"
        assert (hello["world"], hello["local_rank"], hello["local_world"], hello["run"]) == (2, rank, 2, "test-run")
        assert hello["runtime"] == "accelerate/0.99.0"
        assert hello["caps"] == ["inject", "stack"]
        assert hello["pid"] > 0 and hello["node"]

        phases = [e for e in events if e["kind"] == "phase.enter"]
        assert [(p["mode"], p["main"]) for p in phases] == [("main_first", rank == 0), ("local_main_first", rank == 0)]
        assert phases[0]["name"] == "train.py:%d" % line_of(TRAIN, "MAIN-FIRST")

        barriers = [e for e in events if e["kind"] == "barrier.enter"]
        sites = [b["site"] for b in barriers]
        assert sites == ["train.py:%d" % line_of(TRAIN, m) for m in
                         ("MAIN-FIRST", "LOCAL-FIRST", "ACCELERATOR-BARRIER", "STATE-BARRIER", "UTILS-BARRIER", "SAVE")]
        assert [b["n"] for b in barriers] == list(range(6))
        assert barriers[0]["phase"] == phases[0]["name"] and "phase" not in barriers[2]
        assert all(b["name"] == b["site"] for b in barriers[2:]), "unnamed barriers are named after their line"
        exits = [e["n"] for e in events if e["kind"] == "barrier.exit"]
        assert exits == list(range(6))

        kinds = [e["kind"] for e in events]
        # The main rank's part of a phase ends at its barrier; the others' part starts after it.
        first_phase = kinds.index("phase.enter")
        expected = ["phase.enter", "barrier.enter", "barrier.exit", "phase.exit"]
        assert kinds[first_phase:first_phase + 4] == expected

        progress = [e for e in events if e["kind"] == "progress"]
        assert [p["step"] for p in progress] == [1, 2, 2], "accumulation micro-steps are not steps"
        assert progress[-1]["metrics"] == {"loss": 0.5, "lr": 0.001}

        checks = [(e["n"], e["fired"]) for e in events if e["kind"] == "trigger.check"]
        assert checks == [(0, False), (1, False)]
        assert events[-1]["kind"] == "bye" and "error" not in events[-1] and events[-1].get("code", 0) == 0


def test_set_trigger_in_code_fires_the_same_check_on_every_rank(collector, spawn):
    source = textwrap.dedent("""\
        from accelerate import Accelerator
        accelerator = Accelerator()
        for step in range(10):
            if step == 3 and accelerator.state.process_index == 1:
                accelerator.set_trigger()  # SET
            if accelerator.check_trigger():
                print("STOP", step)
                break
    """)
    ranks = spawn(source, world=2, address=collector.address)
    outputs = [output for code, output in ranks.wait()]
    assert all("STOP 3" in output for output in outputs), outputs
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 2)
    trigger = collector.of_kind("trigger.set")
    assert [(t["rank"], t["source"], t["reason"]) for t in trigger] == [
        (1, "code", "set_trigger() at train.py:%d" % line_of(source, "SET"))]
    for rank in (0, 1):
        fired = [e["n"] for e in collector.of_kind("trigger.check", rank) if e["fired"]]
        assert fired == [3]


LOOP = textwrap.dedent("""\
    import time
    from accelerate import Accelerator
    accelerator = Accelerator()
    for step in range(2000):
        if accelerator.check_trigger():
            print("STOP", step, flush=True)
            break
        time.sleep(0.01)
""")


def test_an_injected_trigger_is_applied_once_at_the_next_check_and_fires_on_every_rank(collector, spawn):
    ranks = spawn(LOOP, world=2, address=collector.address)
    assert collector.wait_for(lambda c: len(c.of_kind("trigger.check", 1)) >= 5)
    collector.send(1, {"kind": "inject", "id": "inj-1", "reason": "plateau"})
    collector.send(1, {"kind": "inject", "id": "inj-1", "reason": "plateau"})  # the same id acts once
    results = ranks.wait()
    assert all(code == 0 for code, _ in results), results
    stops = [output.split("STOP ")[1].split()[0] for _, output in results]
    assert stops[0] == stops[1]
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 2)
    sets = collector.of_kind("trigger.set")
    assert [(s["rank"], s["source"], s["id"], s["reason"]) for s in sets] == [(1, "manual", "inj-1", "plateau")]
    fired = {rank: [e["n"] for e in collector.of_kind("trigger.check", rank) if e["fired"]] for rank in (0, 1)}
    assert fired[0] == fired[1] and len(fired[0]) == 1
    # Applied at the start of the check that fired: trigger.set comes right before it on rank 1.
    rank1 = [e for e in collector.events if e["rank"] == 1]
    at = rank1.index(sets[0])
    assert rank1[at + 1]["kind"] == "trigger.check" and rank1[at + 1]["fired"] is True


def test_a_stack_request_is_answered_while_the_training_thread_waits_in_a_barrier(collector, spawn):
    source = textwrap.dedent("""\
        import time
        from accelerate import Accelerator
        accelerator = Accelerator()

        def checkpoint():
            accelerator.wait_for_everyone()  # WAIT

        if accelerator.state.process_index == 1:
            time.sleep(4)
        checkpoint()
    """)
    ranks = spawn(source, world=2, address=collector.address)
    assert collector.wait_for(lambda c: len(c.of_kind("barrier.enter", 0)) == 1)
    collector.send(0, {"kind": "stack.req", "id": "st-1"})
    assert collector.wait_for(lambda c: len(c.of_kind("stack", 0)) == 1, timeout=3)
    assert not collector.of_kind("barrier.exit", 0), "answered while still in the barrier"
    stack = collector.of_kind("stack", 0)[0]
    assert stack["id"] == "st-1"
    frames = stack["frames"]
    wait_line = line_of(source, "# WAIT")
    assert any(f.endswith("train.py:%d in checkpoint: accelerator.wait_for_everyone()  # WAIT" % wait_line) for f in frames)
    # Innermost last: the fake barrier's polling loop (its own frame, or a comprehension's in it).
    assert "fake_accelerate/accelerate/state.py" in frames[-1], frames[-1]
    assert "<module>" in frames[0]
    for code, output in ranks.wait():
        assert code == 0, output


def test_barrier_name_names_barriers_and_phases_and_explicit_progress_owns_the_step(collector, spawn):
    source = textwrap.dedent("""\
        import ranktop
        from accelerate import Accelerator
        accelerator = Accelerator()
        with ranktop.barrier_name("load"):
            with accelerator.main_process_first():
                pass
        with ranktop.barrier_name("save"):
            accelerator.save_state()
        accelerator.wait_for_everyone()
        optimizer = accelerator.prepare_optimizer()
        ranktop.progress(10, total=100, loss=1.5, epoch=2)
        optimizer.step()
        ranktop.progress(11)
    """)
    for code, output in spawn(source, world=1, address=collector.address).wait():
        assert code == 0, output
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    assert [p["name"] for p in collector.of_kind("phase.enter")] == ["load"]
    assert [(b["name"], b.get("phase")) for b in collector.of_kind("barrier.enter")] == [
        ("load", "load"), ("save", None), ("train.py:9", None)]
    progress = collector.of_kind("progress")
    assert [(p["step"], p.get("total"), p.get("epoch"), p.get("metrics")) for p in progress] == [
        (10, 100, 2.0, {"loss": 1.5}), (11, 100, None, None)]


def test_the_tcp_transport_carries_the_token_in_hello(spawn):
    from tests.support.collector import FakeCollector

    server = FakeCollector("tcp")
    try:
        source = "from accelerate import Accelerator\nAccelerator().wait_for_everyone()\n"
        for code, output in spawn(source, address=server.address, env={"RANKTOP_TOKEN": "s3cret"}).wait():
            assert code == 0, output
        assert server.wait_for(lambda c: len(c.of_kind("bye")) == 1)
        assert server.of_kind("hello")[0]["token"] == "s3cret"
        assert len(server.of_kind("barrier.exit")) == 1
    finally:
        server.close()


def test_run_id_falls_back_to_torchelastic_then_to_one_shared_by_the_ranks(collector, spawn):
    source = "from accelerate import Accelerator\nAccelerator()\n"
    env = {"TORCHELASTIC_RUN_ID": "elastic-7"}
    ranks = spawn(source, world=1, address=collector.address, env=env)
    ranks.wait()
    assert collector.wait_for(lambda c: len(c.of_kind("hello")) == 1)
    # zero_code_env sets RANKTOP_RUN: drop it to see the fallbacks.
    assert collector.of_kind("hello")[0]["run"] == "test-run"
    from ranktop import _identity

    saved = dict(os.environ)
    try:
        os.environ.pop("RANKTOP_RUN", None)
        os.environ["TORCHELASTIC_RUN_ID"] = "elastic-7"
        assert _identity.run_id() == "elastic-7"
        del os.environ["TORCHELASTIC_RUN_ID"]
        os.environ.update(MASTER_ADDR="10.0.0.1", MASTER_PORT="29500", WORLD_SIZE="8")
        assert _identity.run_id() == _identity.run_id() and _identity.run_id().startswith("run-")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_nothing_is_patched_or_imported_without_RANKTOP_ADDR(tmp_path):
    probe = textwrap.dedent("""\
        import sys, threading
        before = set(sys.modules)
        import accelerate
        from accelerate.state import PartialState
        assert not hasattr(PartialState.wait_for_everyone, "__ranktop_original__")
        assert not any(m == "ranktop" or m.startswith("ranktop.") for m in sys.modules), sorted(sys.modules)
        import ranktop
        assert ranktop.instrument() is False
        ranktop.progress(1, loss=2.0)
        with ranktop.barrier_name("x"):
            pass
        assert not hasattr(PartialState.wait_for_everyone, "__ranktop_original__")
        assert [t.name for t in threading.enumerate()] == ["MainThread"]
        assert ranktop.stats()["reporting"] is False
        assert sys.exit.__module__ == "sys"
        print("CLEAN")
    """)
    script = tmp_path / "probe.py"
    script.write_text(probe)
    result = subprocess.run([sys.executable, str(script)], env=zero_code_env(None), capture_output=True, text=True)
    assert result.returncode == 0 and "CLEAN" in result.stdout, result.stdout + result.stderr


def test_the_autoload_sitecustomize_runs_the_one_it_shadows(tmp_path, collector):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import os\nos.environ['SHADOWED_SITECUSTOMIZE_RAN'] = 'yes'\n")
    script = tmp_path / "probe.py"
    script.write_text("import os\nprint('SHADOWED', os.environ.get('SHADOWED_SITECUSTOMIZE_RAN'))\n")
    for address in (None, collector.address):
        env = zero_code_env(address)
        env["PYTHONPATH"] += os.pathsep + str(other)
        result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
        assert "SHADOWED yes" in result.stdout, result.stdout + result.stderr


def test_a_broken_shadowed_sitecustomize_is_reported_like_site_does_and_the_script_still_runs(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "sitecustomize.py").write_text("raise RuntimeError('broken site')\n")
    script = tmp_path / "probe.py"
    script.write_text("print('RAN')\n")
    env = zero_code_env(None)
    env["PYTHONPATH"] += os.pathsep + str(other)
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and "RAN" in result.stdout
    assert "Error in sitecustomize" in result.stderr and "broken site" in result.stderr


def test_progress_before_accelerate_is_up_says_hello_from_the_launchers_environment(collector, spawn):
    source = textwrap.dedent("""\
        import ranktop
        ranktop.progress(0, total=5)
        from accelerate import Accelerator
        Accelerator().wait_for_everyone()
    """)
    ranks = spawn(source, world=2, address=collector.address)
    for code, output in ranks.wait():
        assert code == 0, output
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 2)
    hellos = sorted(collector.of_kind("hello"), key=lambda h: h["rank"])
    assert [(h["rank"], h["world"], h["local_rank"], h["local_world"]) for h in hellos] == [(0, 2, 0, 2), (1, 2, 1, 2)]
    assert [len(collector.of_kind("hello", rank)) for rank in (0, 1)] == [1, 1], "one hello per process"
    assert [e["kind"] for e in collector.events if e["rank"] == 1] == [
        "hello", "progress", "barrier.enter", "barrier.exit", "bye"]
