"""Shared fixtures: the fake collector, and spawning ranks of a script the way `ranktop run` would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

TESTS = Path(__file__).resolve().parent
PY_DIR = TESTS.parent  # clients/python
AUTOLOAD = PY_DIR / "ranktop" / "_autoload"
FAKE_ACCELERATE = TESTS / "fake_accelerate"

sys.path.insert(0, str(PY_DIR))
sys.path.insert(0, str(TESTS.parent))

from tests.support.collector import FakeCollector  # noqa: E402


@pytest.fixture
def collector():
    server = FakeCollector("unix")
    yield server
    server.close()


def zero_code_env(address: Optional[str], extra: Optional[Dict[str, str]] = None, fake: bool = True) -> Dict[str, str]:
    """The environment `ranktop run` gives a run: autoload dir and package dir first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKTOP_", "RANK", "WORLD_SIZE", "LOCAL_"))}
    paths = [str(AUTOLOAD), str(PY_DIR)]
    if fake:
        paths.append(str(FAKE_ACCELERATE))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if address:
        env["RANKTOP_ADDR"] = address
        env["RANKTOP_RUN"] = "test-run"
    env.update(extra or {})
    return env


class Ranks:
    """World-many processes of one script, with the variables a launcher sets."""

    def __init__(self, script: Path, world: int, env: Dict[str, str], args: Sequence[str] = ()) -> None:
        self.processes: List[subprocess.Popen] = []
        rendezvous = script.parent / "rendezvous"
        rendezvous.mkdir(exist_ok=True)
        for rank in range(world):
            rank_env = dict(env, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                            LOCAL_WORLD_SIZE=str(world), FAKE_ACCELERATE_DIR=str(rendezvous))
            self.processes.append(subprocess.Popen(
                [sys.executable, str(script), *args], env=rank_env, cwd=str(script.parent),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))

    def wait(self, timeout: float = 60) -> List[tuple]:
        results = []
        for process in self.processes:
            try:
                output, _ = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
                raise AssertionError("rank did not finish in %ss:\n%s" % (timeout, output))
            results.append((process.returncode, output))
        return results

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture
def spawn(tmp_path):
    """spawn(source, world, address, env=None, args=()) writes `train.py` and starts its ranks."""
    started: List[Ranks] = []

    def _spawn(source: str, world: int = 1, address: Optional[str] = None, env=None, args=(), name="train.py"):
        script = tmp_path / name
        script.write_text(source)
        ranks = Ranks(script, world, zero_code_env(address, env), args)
        started.append(ranks)
        return ranks

    yield _spawn
    for ranks in started:
        ranks.kill()


def line_of(source: str, marker: str) -> int:
    """1-based line number of the line holding `marker` in `source`."""
    for number, line in enumerate(source.splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError("marker %r not in source" % marker)
