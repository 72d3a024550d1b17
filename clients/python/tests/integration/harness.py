"""Runs a command the way a user does with `ranktop run --headless -- CMD`, and reads its event log.

Two collectors can stand behind it: the real `ranktop` binary (RANKTOP_BIN), or, for developing
the adapter where the binary is not built, the Python fake collector with the environment
`ranktop run` sets (PYTHONPATH with the autoload hook, RANKTOP_ADDR, RANKTOP_RUN).
"""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

from tests.conftest import zero_code_env
from tests.support.collector import FakeCollector

VENV_BIN = Path(sys.executable).parent
TORCHRUN = str(VENV_BIN / "torchrun")
TRAIN_TINY = Path(__file__).resolve().parent / "train_tiny.py"


def torchrun(*script_args: str) -> List[str]:
    return [TORCHRUN, "--standalone", "--nproc_per_node", "2", str(TRAIN_TINY), *script_args]


class FakeCollectorRun:
    """The Python stand-in for `ranktop run --headless`."""

    def __init__(self, directory: Path) -> None:
        self.log = directory / "run.log"
        self.collector = FakeCollector("unix", log_path=str(self.log))
        self.process: Optional[subprocess.Popen] = None

    def start(self, command: List[str]) -> None:
        env = zero_code_env(self.collector.address, fake=False)
        env["RANKTOP_RUN"] = "it-run"
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def events(self) -> List[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def trigger(self, reason: str) -> str:
        injection = "inj-%d" % int(time.time() * 1000)
        for rank in (0, 1):
            self.collector.send(rank, {"kind": "inject", "id": injection, "reason": reason})
        return injection

    def request_stack(self, rank: int) -> str:
        request = "stack-%d" % int(time.time() * 1000)
        self.collector.send(rank, {"kind": "stack.req", "id": request})
        return request

    def wait(self, timeout: float) -> str:
        assert self.process is not None
        try:
            output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
            raise AssertionError("the run did not finish in %ss:\n%s" % (timeout, output))
        assert self.process.returncode == 0, output
        time.sleep(0.2)  # the last lines reach the log
        return output

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        self.collector.close()


def wait_until(run, predicate, timeout: float = 120.0) -> List[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = run.events()
        if predicate(events):
            return events
        if run.process is not None and run.process.poll() is not None:
            break
        time.sleep(0.05)
    events = run.events()
    assert predicate(events), "condition not met; log so far:\n" + "\n".join(json.dumps(e) for e in events[-40:])
    return events


def report(log: Path) -> Optional[dict]:
    """`ranktop report --json LOG`, when the binary is at hand: the Swift decoder and model read the log."""
    binary = os.environ.get("RANKTOP_BIN")
    if not binary:
        return None
    result = subprocess.run([binary, "report", "--json", str(log)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def results(output: str) -> dict:
    """rank -> (stopped_step, checks) from the RESULT lines train_tiny.py prints."""
    # Both ranks share torchrun's stdout, so their lines may interleave: match, do not split.
    return {int(rank): (stopped, int(checks))
            for rank, stopped, checks in re.findall(r"RESULT rank=(\d+) stopped_step=(\w+) checks=(\d+)", output)}
