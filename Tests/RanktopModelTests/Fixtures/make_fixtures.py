#!/usr/bin/env python3
"""Writes the golden event logs the report tests read. Run it from this folder to regenerate;
the logs are committed so tests never depend on Python."""
import json

T0 = 1764374400.0


class Run:
    def __init__(self, world, run="r42", nodes=2, timeout=None):
        self.world, self.lines, self.seq = world, [], {}
        self.t = T0
        for r in range(world):
            hello = dict(v=1, run=run, world=world, local_rank=r % (world // nodes), local_world=world // nodes,
                         node=f"node-{r // (world // nodes)}", pid=1000 + r, runtime="accelerate/1.15.0 torch/2.15.0",
                         caps=["inject", "stack"])
            if timeout:
                hello["timeout"] = timeout
            self.emit(r, "hello", **hello)

    def at(self, dt):
        self.t += dt
        return self

    def emit(self, rank, kind, **fields):
        event = {"kind": kind, "rank": rank, "ts": round(self.t, 6)}
        if rank >= 0 and kind not in ("lost", "dropped"):
            event["seq"] = self.seq.get(rank, 0)
            self.seq[rank] = event["seq"] + 1
        event.update(fields)
        self.lines.append(json.dumps(event, separators=(",", ":")))

    def all(self, kind, ranks=None, dt=0.0, **fields):
        for r in (range(self.world) if ranks is None else ranks):
            self.emit(r, kind, **fields)
            self.t += dt

    def phase(self, name, barrier_n):
        """accelerate's main_process_first: others wait first, main runs, then main's barrier."""
        for r in range(self.world):
            self.emit(r, "phase.enter", name=name, mode="main_first", main=(r == 0))
        for r in range(1, self.world):
            self.emit(r, "barrier.enter", n=barrier_n, phase=name, site="train.py:41")
        self.at(30.0)
        self.emit(0, "barrier.enter", n=barrier_n, phase=name, site="train.py:41")
        self.at(0.01)
        self.all("barrier.exit", n=barrier_n)
        self.emit(0, "phase.exit", name=name)
        self.at(2.5)
        self.all("phase.exit", ranks=range(1, self.world), name=name)

    def steps(self, first, last, total=100, check_from=0, slow=None):
        for step in range(first, last + 1):
            self.at(1.0)
            for r in range(self.world):
                self.emit(r, "progress", step=step, total=total, metrics={"loss": round(3.0 / step, 4)})
            for r in range(self.world):
                self.emit(r, "trigger.check", n=check_from + step - first, fired=False)

    def barrier(self, n, name, order=None, gap=0.2, exit_=True):
        for r in (order or range(self.world)):
            self.emit(r, "barrier.enter", n=n, name=name, site="train.py:88")
            self.at(gap)
        if exit_:
            self.all("barrier.exit", n=n)

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def clean():
    run = Run(4)
    run.phase("load_dataset", 0)
    run.steps(1, 5)
    run.barrier(1, "save_checkpoint", order=[0, 1, 3, 2], gap=0.5)
    run.steps(6, 10, check_from=5)
    run.at(1).all("bye", code=0)
    run.write("clean.jsonl")


def hang():
    run = Run(8, timeout=1800)
    run.phase("load_dataset", 0)
    run.steps(1, 81, total=1000)
    run.barrier(1, "save_checkpoint", order=[0, 1, 2, 3, 4, 6, 7], exit_=False)
    for _ in range(436):  # 14m32s of heartbeats while rank 5 never arrives
        run.at(2.0).all("heartbeat")
    run.write("hang.jsonl")


def crash():
    run = Run(4)
    run.phase("load_dataset", 0)
    run.steps(1, 20)
    run.barrier(1, "save_checkpoint", order=[0, 1, 3], exit_=False)
    run.at(0.3).emit(2, "bye", code=1, error="RuntimeError: CUDA out of memory")
    run.write("crash.jsonl")


def lost():
    run = Run(4)
    run.phase("load_dataset", 0)
    run.steps(1, 12)
    run.barrier(1, None, order=[0, 2, 3], exit_=False)
    run.at(5.0).emit(1, "lost", reason="connection closed without bye")
    run.write("lost.jsonl")


def mismatch():
    run = Run(4)
    run.phase("load_dataset", 0)
    run.steps(1, 3)
    for r in range(4):
        run.emit(r, "barrier.enter", n=1, name="save" if r < 2 else "evaluate", site="train.py:90")
    run.all("barrier.exit", n=1)
    run.steps(4, 5, check_from=3)
    run.at(1).all("bye", code=0)
    run.write("mismatch.jsonl")


def code_trigger():
    run = Run(4)
    run.phase("load_dataset", 0)
    run.steps(1, 7)
    run.at(1.0)
    run.all("progress", step=8, total=100)
    run.emit(2, "trigger.set", source="code", reason="loss plateaued")
    run.all("trigger.check", n=7, fired=True)
    run.at(0.5).all("bye", code=0)
    run.write("code_trigger.jsonl")


def manual_trigger():
    run = Run(4)
    run.phase("load_dataset", 0)
    run.steps(1, 12)
    run.at(0.3).emit(-1, "inject", id="inj-7f3a", reason="diverging", by="alice@login-1")
    run.at(0.7)
    run.all("progress", step=13, total=100)
    run.all("trigger.set", source="manual", id="inj-7f3a", reason="diverging")
    run.all("trigger.check", n=12, fired=True)
    run.at(0.5).all("bye", code=0)
    run.write("manual_trigger.jsonl")


def hostile():
    run = Run(2)
    run.steps(1, 2)
    good = run.lines
    bad = [
        '{"kind":"progress","rank":0,"ts":1764374410.0,"seq":9,"step":',       # malformed JSON
        '{"kind":"progress","rank":"zero","ts":1764374410.0,"step":3}',        # wrong type
        '{"kind":"progress","rank":1,"ts":1764374410.0,"step":-4}',            # out of range
        '{"kind":"teleport","rank":1,"ts":1764374410.0}',                      # unknown kind
        '{"kind":"barrier.enter","rank":7,"ts":1764374410.0,"n":1}',           # rank outside the world
        '{"kind":"progress","rank":0,"ts":1764374411.0,"step":3,"junk":"' + "x" * 100_000 + '"}',  # 100 KB line
        'not json at all',
        '[1,2,3]',
    ]
    lines = good[:4] + bad[:4] + good[4:] + bad[4:]
    with open("hostile.jsonl", "wb") as f:
        f.write(("\n".join(lines) + "\n").encode())
        f.write(b'{"kind":"log","rank":0,"ts":1764374412.0,"level":"info","msg":"caf\xe9 \xff"}\n')  # invalid UTF-8
        f.write(b'\x00\x01garbage\n')
        f.write('{"kind":"log","rank":1,"ts":1764374413.0,"seq":7,"level":"warning","msg":"naïve ✓"}\n'.encode())
        f.write(b'{"kind":"progress","rank":1,"ts":1764374414.0,"se')  # the writer died mid-line


if __name__ == "__main__":
    for make in (clean, hang, crash, lost, mismatch, code_trigger, manual_trigger, hostile):
        make()
