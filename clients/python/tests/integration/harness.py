"""Runs a command the way a user does with `ranktop run --headless -- CMD`, and reads its event log.

With the `ranktop` binary (RANKTOP_BIN, as scripts/test-python sets it) the collector is the real
one: `ranktop serve`, with the command given the environment `ranktop run` gives it (PYTHONPATH
with the autoload hook, RANKTOP_ADDR, RANKTOP_RUN); triggers go through `ranktop trigger` and stack
requests through the collector's control connection (docs/protocol.md). Without the binary (a
developer running pytest alone) the Python fake collector stands in.
"""

from __future__ import annotations

import json
import signal
import socket
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


class ServeRun:
    """The real collector, `ranktop serve`, behind the command."""

    def __init__(self, directory: Path, binary: str) -> None:
        self.binary = binary
        self.log = directory / "run.log"
        self.socket_path = directory / "collector.sock"
        self.address = "unix:" + str(self.socket_path)
        self.serve = subprocess.Popen([binary, "serve", "--listen", self.address, "--log", str(self.log)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while not self.socket_path.exists():
            assert self.serve.poll() is None, self.serve.communicate()[0]
            assert time.monotonic() < deadline, "ranktop serve did not start listening"
            time.sleep(0.05)
        self.process: Optional[subprocess.Popen] = None

    def start(self, command: List[str]) -> None:
        env = zero_code_env(self.address, fake=False)
        env["RANKTOP_RUN"] = "it-run"
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def events(self) -> List[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().split("\n")[:-1]  # a line still being written is not complete
        return [json.loads(line) for line in lines if line.strip()]

    def trigger(self, reason: str) -> str:
        result = subprocess.run([self.binary, "trigger", self.address, "--reason", reason],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.split()[-1]

    def request_stack(self, rank: int) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
            control.settimeout(10)
            control.connect(str(self.socket_path))
            control.sendall((json.dumps({"kind": "stack.req", "rank": rank}) + "\n").encode())
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = control.recv(4096)
                assert chunk, "the collector closed the control connection without a reply"
                reply += chunk
        answer = json.loads(reply)
        assert answer.get("kind") == "stack.ok", answer
        return answer["id"]

    def wait(self, timeout: float) -> str:
        output = FakeCollectorRun.wait(self, timeout)
        self.serve.send_signal(signal.SIGINT)  # the collector flushes the log and exits
        self.serve.communicate(timeout=30)
        return output

    def close(self) -> None:
        for process in (self.process, self.serve):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()


class CliRun(ServeRun):
    """`ranktop run --headless --log LOG --listen ADDR -- CMD`: exactly what a user types."""

    def __init__(self, directory: Path, binary: str) -> None:
        self.binary = binary
        self.log = directory / "run.log"
        self.socket_path = directory / "collector.sock"
        self.address = "unix:" + str(self.socket_path)
        self.serve = None
        self.process = None

    def start(self, command: List[str]) -> None:
        # The user's environment: nothing of ranktop's; `ranktop run` adds the hook and the address.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RANKTOP_") and k != "PYTHONPATH"}
        env["OMP_NUM_THREADS"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [self.binary, "run", "--headless", "--log", str(self.log), "--listen", self.address, "--", *command],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout: float) -> str:
        return FakeCollectorRun.wait(self, timeout)


def _has_run_command(binary: str) -> bool:
    result = subprocess.run([binary, "run", "--help"], capture_output=True, text=True, timeout=60)
    return "--headless" in result.stdout


def open_run(directory: Path):
    binary = os.environ.get("RANKTOP_BIN")
    if not binary:
        return FakeCollectorRun(directory)
    return CliRun(directory, binary) if _has_run_command(binary) else ServeRun(directory, binary)


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
