"""Issue 15: ranktop's death never costs the run. Real Accelerate ranks under `torchrun` through
`ranktop run`; `kill -9` of `ranktop run` mid-training. The ranks train on (their emitters retry
quietly), `ranktop ls` shows the run as "collector gone, 2 ranks alive", `ranktop serve --resume`
takes them back on the same socket and log, the ranks finish, and the report says when the first
collector died, with every event the ranks numbered either in the log or counted as dropped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.integration.harness import TRAIN_TINY, ranktop_binary, report, torchrun

pytestmark = pytest.mark.integration


def events(log):
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().split("\n")[:-1] if line.strip()]


def wait_for(log, what, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = events(log)
        if predicate(current):
            return current
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s; the log's last lines:\n%s" % (what, "\n".join(json.dumps(e) for e in events(log)[-20:])))


def step(current, rank):
    return max([e["step"] for e in current if e["kind"] == "progress" and e["rank"] == rank] or [-1])


def test_a_killed_ranktop_run_leaves_accelerate_training_and_serve_resume_takes_it_back(tmp_path):
    binary = ranktop_binary()
    log = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RANKTOP_") and k != "PYTHONPATH"}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", XDG_RUNTIME_DIR=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    output = open(tmp_path / "ranks.out", "w")
    launcher = subprocess.Popen(
        [binary, "run", "--headless", "--log", str(log), "--", *torchrun("--steps", "80", "--step-sleep", "0.1")],
        env=env, stdout=output, stderr=subprocess.STDOUT)
    serve = None
    try:
        before = wait_for(log, "both ranks training", lambda e: step(e, 0) >= 3 and step(e, 1) >= 3)
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(timeout=10)
        pids = {e["rank"]: e["pid"] for e in before if e["kind"] == "hello"}
        assert len(pids) == 2
        for pid in pids.values():
            os.kill(pid, 0)  # alive: the ranks outlive ranktop

        listed = subprocess.run([binary, "ls", "--json"], env=env, capture_output=True, text=True, timeout=60)
        rows = [row for row in json.loads(listed.stdout) if row.get("collector") == "gone"]
        assert len(rows) == 1 and rows[0]["alive"] == 2 and rows[0]["log"] == str(log), listed.stdout
        table = subprocess.run([binary, "ls"], env=env, capture_output=True, text=True, timeout=60)
        assert "collector gone, 2 ranks alive" in table.stdout, table.stdout

        serve = subprocess.Popen([binary, "serve", "--resume", rows[0]["run"]], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        after = wait_for(log, "both ranks' bye under the new collector",
                         lambda e: {x["rank"] for x in e if x["kind"] == "bye"} == {0, 1}, timeout=240)
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=30)
        assert serve.returncode == 0, out

        result = report(log)
        assert [r["state"] for r in result["ranks"]] == ["exited", "exited"], result["ranks"]
        assert [r["step"] for r in result["ranks"]] == [80, 80], "the ranks trained to the end (80 optimizer steps)"
        collectors = result["collectors"]
        assert len(collectors) == 2 and collectors[0]["died_ts"] is not None and collectors[1]["end_ts"] is not None, collectors
        assert any("died at" in line and "ranks 0-1 were still running then" in line for line in result["diagnosis"]), result["diagnosis"]
        for rank in (0, 1):
            seqs = {e["seq"] for e in after if e["rank"] == rank and e["kind"] != "hello" and "seq" in e}
            missing = max(seqs) - len(seqs)
            dropped = next(r["dropped"] for r in result["ranks"] if r["rank"] == rank)
            assert dropped == missing, "rank %d: %d numbers missing from the log, %d counted as dropped" % (rank, missing, dropped)
        output.flush()
        text = (tmp_path / "ranks.out").read_text()
        assert text.count("RESULT rank=") == 2, text
    finally:
        for process in (launcher, serve):
            if process is not None and process.poll() is None:
                process.kill()
        subprocess.run(["pkill", "-f", str(TRAIN_TINY) + ".*--steps 80 --step-sleep 0.1"], check=False)
        output.close()
