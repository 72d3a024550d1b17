"""A torchrun world of a script that never imports ranktop, in the environment `ranktop run` gives
its command (the autoload directory first on PYTHONPATH, RANKTOP_ADDR, RANKTOP_RUN), reporting to
the test collector (tests.support.collector), which keeps every line and checks it against the
protocol, `collective.*` included. The real `ranktop run` path is test_hang_reports.py's and
test_torchrun.py's.

Tests read the collector's events while the run is still hung, then kill the whole world.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

from tests.conftest import zero_code_env
from tests.support.collector import FakeCollector

TORCHRUN = str(Path(sys.executable).parent / "torchrun")


class TorchWorld:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log = directory / "events.jsonl"
        self.collector = FakeCollector("unix", log_path=str(self.log))
        self.process: Optional[subprocess.Popen] = None

    def start(self, source: str, ranks: int = 2, args=(), env: Optional[Dict[str, str]] = None) -> None:
        script = self.directory / "train.py"
        script.write_text(source)
        run_env = zero_code_env(self.collector.address, fake=False)
        run_env.update(env or {})
        # A session of its own: killing the world kills torchrun and every rank.
        self.process = subprocess.Popen(
            [TORCHRUN, "--standalone", "--nproc_per_node", str(ranks), str(script), *args],
            env=run_env, cwd=str(self.directory), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True)

    def events(self, kind: Optional[str] = None, rank: Optional[int] = None) -> List[dict]:
        with self.collector._lock:
            events = list(self.collector.events)
        return [e for e in events if (kind is None or e["kind"] == kind) and (rank is None or e["rank"] == rank)]

    def wait_until(self, predicate: Callable[[List[dict]], bool], timeout: float = 60.0) -> List[dict]:
        """Polls the collected events until `predicate` holds; fails with the tail of the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if predicate(events):
                return events
            if self.process is not None and self.process.poll() is not None:
                # The run ended: its last lines may still be in flight for a moment.
                if self.collector.wait_for(lambda c: predicate(self.events()), timeout=2):
                    return self.events()
                break
            time.sleep(0.05)
        events = self.events()
        output = ""
        if self.process is not None and self.process.poll() is not None:
            output = self.process.stdout.read()[-4000:] if self.process.stdout else ""
        raise AssertionError("condition not met; last events:\n%s\n%s" % (
            "\n".join(str(e) for e in events[-40:]), output))

    def finish(self, timeout: float = 90.0) -> str:
        assert self.process is not None
        try:
            output, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the run did not finish in %ss" % timeout)
        assert self.process.returncode == 0, output[-6000:]
        return output

    def kill(self) -> None:
        # torchrun starts each rank in a session of its own: the ranks are killed by the pids their
        # hellos gave, torchrun by its own.
        for hello in self.events("hello"):
            try:
                os.kill(hello["pid"], signal.SIGKILL)
            except OSError:
                pass
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.process is not None:
            try:
                self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        self.kill()
        self.collector.close()


def open_enters(events: List[dict], rank: int) -> List[dict]:
    """The rank's collective.enter events without their exit."""
    exits = {(e["group"], e["n"]) for e in events if e["kind"] == "collective.exit" and e["rank"] == rank}
    return [e for e in events if e["kind"] == "collective.enter" and e["rank"] == rank
            and (e["group"], e["n"]) not in exits]
