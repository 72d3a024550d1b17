"""Runs a command exactly as a user does, `ranktop run --headless --log LOG --listen ADDR -- CMD`,
and reads the event log the real collector writes. Triggers go through `ranktop trigger ADDR`,
stack requests through the collector's control connection (docs/protocol.md, "Viewer and control
connections"). The binary is RANKTOP_BIN, which scripts/test-python sets after building it.
"""

from __future__ import annotations

import json
import signal
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

VENV_BIN = Path(sys.executable).parent
TORCHRUN = str(VENV_BIN / "torchrun")
TRAIN_TINY = Path(__file__).resolve().parent / "train_tiny.py"


def torchrun(*script_args: str) -> List[str]:
    return [TORCHRUN, "--standalone", "--nproc_per_node", "2", str(TRAIN_TINY), *script_args]


def ranktop_binary() -> str:
    binary = os.environ.get("RANKTOP_BIN")
    if not binary or not os.access(binary, os.X_OK):
        raise AssertionError("RANKTOP_BIN must name the built ranktop binary (scripts/test-python sets it)")
    return binary


class RanktopRun:
    def __init__(self, directory: Path) -> None:
        self.binary = ranktop_binary()
        self.log = directory / "run.log"
        self.socket_path = directory / "collector.sock"
        self.address = "unix:" + str(self.socket_path)
        self.process: Optional[subprocess.Popen] = None

    def start(self, command: List[str], launch_ranks: int = 0, options: Optional[List[str]] = None) -> None:
        """`ranktop run ... -- command`, or with launch_ranks `ranktop launch -n N ... -- command`;
        `options` go to ranktop before the `--`."""
        # The user's environment: nothing of ranktop's; ranktop adds the hook and the address.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RANKTOP_") and k != "PYTHONPATH"}
        env["OMP_NUM_THREADS"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        verb = ["launch", "-n", str(launch_ranks)] if launch_ranks else ["run"]
        self.process = subprocess.Popen(
            [self.binary, *verb, "--headless", "--log", str(self.log), "--listen", self.address, *(options or []), "--", *command],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def events(self) -> List[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().split("\n")[:-1]  # a line still being written is not complete
        return [json.loads(line) for line in lines if line.strip()]

    def trigger(self, reason: str) -> str:
        """`ranktop trigger ADDR --reason R`; returns the injection id it prints."""
        result = subprocess.run([self.binary, "trigger", self.address, "--reason", reason],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.split()[-1]

    def request_stack(self, rank: int) -> str:
        """A control connection's `stack.req` for one rank; returns the request id of `stack.ok`."""
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
        assert self.process is not None
        try:
            output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
            raise AssertionError("the run did not finish in %ss:\n%s" % (timeout, output))
        assert self.process.returncode == 0, output
        return output

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        # torchrun starts its workers in sessions of their own: once ranktop (or torchrun) is
        # killed, workers hung in a collective live on and hold ranktop's output pipe open, so
        # reading it to the end would wait forever (a CI run hung here). The log names them.
        self.kill_leftover_ranks()
        self.process.communicate(timeout=60)

    def kill_leftover_ranks(self) -> None:
        """SIGKILL to the ranks of this run still alive: only processes whose command line names
        this test's directory, since pids are reused (a stale one may be another test's)."""
        for event in self.events():
            pid = event.get("pid") if event.get("kind") == "hello" else None
            if not isinstance(pid, int):
                continue
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if str(self.log.parent).encode() not in f.read():
                        continue
                os.kill(pid, signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError):
                pass

def wait_until(run: RanktopRun, predicate, timeout: float = 120.0) -> List[dict]:
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


def report(log: Path) -> dict:
    """`ranktop report --json LOG`: the Swift decoder and run model read what the adapter sent."""
    result = subprocess.run([ranktop_binary(), "report", "--json", str(log)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def rejected_by_collector(events: List[dict]) -> int:
    """Lines the collector refused, from its own `log` warnings (the first three of a connection one
    by one, then a total when the connection ends). Each refused line would be a `seq` gap that
    the report counts as dropped; a collector that knows every kind the adapter sends refuses none."""
    singles: dict = {}
    totals: dict = {}
    for event in events:
        if event["kind"] != "log" or event["rank"] != -1:
            continue
        msg = event["msg"]
        total = re.match(r"collector rejected (\d+) lines in all from (.+)$", msg)
        if total:
            totals[total.group(2)] = int(total.group(1))
            continue
        single = re.match(r"collector rejected a line from (rank \d+):", msg)
        if single:
            singles[single.group(1)] = singles.get(single.group(1), 0) + 1
    return sum(totals.get(who, count) for who, count in singles.items())


def results(output: str) -> dict:
    """rank -> (stopped_step, checks) from the RESULT lines train_tiny.py prints."""
    # Both ranks share torchrun's stdout, so their lines may interleave: match, do not split.
    return {int(rank): (stopped, int(checks))
            for rank, stopped, checks in re.findall(r"RESULT rank=(\d+) stopped_step=(\w+) checks=(\d+)", output)}
