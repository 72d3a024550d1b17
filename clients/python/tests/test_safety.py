"""The adapter never hurts the run: user exceptions pass through untouched, its own are counted and
reported once, a missing collector costs only drops, and the way a process ends is reported."""

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PY_DIR, zero_code_env


def run_one(spawn, source, collector, env=None):
    (code, output), = spawn(source, world=1, address=collector.address, env=env).wait()
    return code, output


def test_an_uncaught_exception_ends_in_a_bye_with_the_error(collector, spawn):
    code, output = run_one(spawn, "from accelerate import Accelerator\nAccelerator()\nraise ValueError('loss is nan')\n", collector)
    assert code == 1 and "ValueError: loss is nan" in output
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    bye = collector.of_kind("bye")[0]
    assert (bye.get("code"), bye.get("error")) == (1, "ValueError: loss is nan")


def test_sys_exit_reports_its_code(collector, spawn):
    code, _ = run_one(spawn, "import sys\nfrom accelerate import Accelerator\nAccelerator()\nsys.exit(3)\n", collector)
    assert code == 3
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    assert collector.of_kind("bye")[0].get("code") == 3


def test_a_worker_dying_before_accelerate_is_up_still_says_hello_and_why(collector, spawn):
    source = "import accelerate\nraise ImportError('no dataset module')\n"
    code, _ = run_one(spawn, source, collector)
    assert code == 1
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    assert [e["kind"] for e in collector.events] == ["hello", "bye"]
    assert collector.of_kind("bye")[0]["error"] == "ImportError: no dataset module"


def test_user_exceptions_pass_through_phases_and_barriers_unchanged(collector, spawn):
    source = textwrap.dedent("""\
        from accelerate import Accelerator
        from accelerate.state import PartialState
        accelerator = Accelerator()
        class Mine(Exception):
            pass
        try:
            with accelerator.main_process_first():
                raise Mine("inside the block")
        except Mine as error:
            print("CAUGHT", error)
        def failing(self):
            raise RuntimeError("peer died")
        import ranktop._patches as patches
        PartialState.wait_for_everyone = patches._wrap_barrier(failing)
        try:
            accelerator.wait_for_everyone()
        except RuntimeError as error:
            print("CAUGHT", error)
    """)
    code, output = run_one(spawn, source, collector)
    assert code == 0, output
    assert "CAUGHT inside the block" in output and "CAUGHT peer died" in output
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    kinds = [e["kind"] for e in collector.events]
    assert kinds.count("phase.exit") == 1
    # The block raised, so the main rank never reached the phase's barrier; the failed barrier
    # was entered and never left.
    assert [e["n"] for e in collector.of_kind("barrier.enter")] == [0]
    assert collector.of_kind("barrier.exit") == []


def test_the_adapters_own_errors_are_counted_and_reported_once(collector, spawn):
    source = textwrap.dedent("""\
        import ranktop, ranktop._runtime as rt
        from accelerate import Accelerator
        accelerator = Accelerator()
        def broken(frame):
            raise KeyError("site lookup")
        rt.caller_site = broken
        for _ in range(3):
            accelerator.wait_for_everyone()
        accelerator.set_trigger()
        print("FIRED", accelerator.check_trigger(), "ERRORS", ranktop.stats()["errors"])
    """)
    code, output = run_one(spawn, source, collector)
    assert code == 0 and "FIRED True ERRORS 4" in output, output
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    logs = collector.of_kind("log")
    assert len(logs) == 1 and logs[0]["level"] == "warning"
    assert "KeyError" in logs[0]["msg"] and "wait_for_everyone" in logs[0]["msg"]
    assert len(collector.of_kind("barrier.exit")) == 3, "barriers still work"


def test_with_nobody_listening_the_script_runs_and_only_counts_drops(spawn, tmp_path):
    source = textwrap.dedent("""\
        import ranktop
        from accelerate import Accelerator
        accelerator = Accelerator()
        for step in range(20000):
            ranktop.progress(step, loss=1.0)
        accelerator.wait_for_everyone()
        stats = ranktop.stats()
        print("DROPPED", stats["dropped"], "ERRORS", stats["errors"])
    """)
    (code, output), = spawn(source, world=1, address="unix:" + str(tmp_path / "nobody.sock")).wait(timeout=30)
    assert code == 0, output
    dropped = int(output.split("DROPPED ")[1].split()[0])
    assert dropped >= 20000 + 2 - 8192 and "ERRORS 0" in output


def test_a_bad_address_is_one_clear_warning_and_the_script_runs(spawn):
    source = "from accelerate import Accelerator\nAccelerator().wait_for_everyone()\nprint('RAN')\n"
    for address, words in (("tcp://nohost", "needs a host and a port"), ("shm://bad name", "a shared-memory address needs a name")):
        (code, output), = spawn(source, world=1, address=address).wait()
        assert code == 0 and "RAN" in output
        assert output.count("ranktop: RANKTOP_ADDR=") == 1 and words in output, output


def test_instrument_after_the_accelerator_exists_says_hello_at_once(collector, tmp_path):
    source = textwrap.dedent("""\
        from accelerate import Accelerator
        accelerator = Accelerator()
        import ranktop
        assert ranktop.instrument() is True and ranktop.instrument() is True
        accelerator.wait_for_everyone()
    """)
    script = tmp_path / "explicit.py"
    script.write_text(source)
    env = zero_code_env(collector.address)
    env["PYTHONPATH"] = os.pathsep.join([str(PY_DIR), str(PY_DIR / "tests" / "fake_accelerate")])  # no autoload
    result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    assert [e["kind"] for e in collector.events] == ["hello", "barrier.enter", "barrier.exit", "bye"]


def test_a_forked_child_stays_silent(collector, spawn):
    source = textwrap.dedent("""\
        import os, ranktop
        from accelerate import Accelerator
        accelerator = Accelerator()
        pid = os.fork()
        if pid == 0:
            ranktop.progress(99)
            accelerator.wait_for_everyone()
            os._exit(0)
        os.waitpid(pid, 0)
        ranktop.progress(1)
    """)
    code, output = run_one(spawn, source, collector)
    assert code == 0, output
    assert collector.wait_for(lambda c: len(c.of_kind("bye")) == 1)
    assert [p["step"] for p in collector.of_kind("progress")] == [1]
    assert len(collector.of_kind("hello")) == 1


def test_every_module_parses_as_python_3_9():
    for path in sorted((PY_DIR / "ranktop").rglob("*.py")):
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))


def test_the_package_builds_as_a_wheel_holding_the_autoload_hook(tmp_path):
    # Built from a copy: setuptools leaves build/ and *.egg-info/ beside the sources it builds.
    source = tmp_path / "source"
    shutil.copytree(PY_DIR, source, ignore=shutil.ignore_patterns("tests", "bench", "__pycache__", "build", "*.egg-info"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    wheel, = tmp_path.glob("ranktop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ranktop/__init__.py" in names and "ranktop/_autoload/sitecustomize.py" in names
    assert not any(name.startswith("tests/") for name in names)
