"""The emitter on its own, in this process, against the fake collector."""

import os
import tempfile
import time

import pytest

from ranktop._address import parse_address
from ranktop import _emitter
from ranktop._emitter import Emitter
from ranktop._transport import transport_for
from tests.support.collector import FakeCollector

HELLO = {"v": 1, "run": "r", "world": 2, "local_rank": 0, "local_world": 2, "node": "n", "pid": 1,
         "runtime": "test", "caps": ["inject", "stack"]}


def make(address, capacity=8192, on_control=None):
    emitter = Emitter(transport_for(parse_address(address)), 0, dict(HELLO), capacity=capacity, on_control=on_control)
    emitter.start()
    return emitter


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_events_arrive_in_order_after_hello_with_consecutive_seq(transport):
    server = FakeCollector(transport)
    try:
        emitter = make(server.address)
        for step in range(50):
            emitter.emit("progress", {"step": step})
        assert server.wait_for(lambda s: len(s.of_kind("progress")) == 50)
        assert server.events[0]["kind"] == "hello" and server.events[0]["seq"] == 0
        assert [e["seq"] for e in server.events] == list(range(51))
        assert [e["step"] for e in server.of_kind("progress")] == list(range(50))
        assert server.problems == []
        emitter.stop()
    finally:
        server.close()


def test_a_full_queue_drops_the_oldest_counts_them_and_seq_shows_the_gap():
    path = os.path.join(tempfile.mkdtemp(), "late.sock")
    emitter = make("unix:" + path, capacity=100)
    for step in range(250):  # nobody listens yet: the newest 100 stay queued, the oldest 150 are dropped
        emitter.emit("progress", {"step": step})
    assert emitter.dropped == 150
    server = FakeCollector("unix", path=path)
    try:
        assert server.wait_for(lambda s: len(s.of_kind("progress")) == 100)
        emitter.emit("progress", {"step": 250})
        assert server.wait_for(lambda s: len(s.of_kind("progress")) == 101)
        progress = server.of_kind("progress")
        # hello is seq 0, step k was seq k + 1: the collector sees seq 1..150 missing.
        assert [e["seq"] for e in progress] == list(range(151, 252))
        assert [e["step"] for e in progress] == list(range(150, 251))
        assert progress[0]["seq"] - 1 == emitter.dropped
        assert server.problems == []
        emitter.stop()
    finally:
        server.close()


def test_emits_while_events_flow_do_not_wake_the_writer_each_time():
    server = FakeCollector("unix")
    try:
        emitter = make(server.address)
        assert server.wait_for(lambda s: len(s.of_kind("hello")) == 1)
        time.sleep(0.1)  # the writer is idle now
        wakeups, cycles = emitter.wakeups, emitter.writer_cycles
        started = time.monotonic()
        for step in range(2000):  # 2000 events over about 0.4 s, one every 0.2 ms
            emitter.emit("progress", {"step": step})
            time.sleep(0.0002)
        elapsed = time.monotonic() - started
        assert server.wait_for(lambda s: len(s.of_kind("progress")) == 2000)
        # One wake-up when the stream starts (and perhaps one per pause the writer saw as idle),
        # then the writer flushes on its timer: about one cycle per flush interval, never per event.
        assert emitter.wakeups - wakeups <= 3, emitter.wakeups - wakeups
        assert emitter.writer_cycles - cycles <= elapsed / _emitter.FLUSH_INTERVAL_SECONDS + 5
        assert emitter.dropped == 0
        emitter.stop()
    finally:
        server.close()


def test_events_reach_the_collector_within_the_flush_interval_while_they_flow():
    server = FakeCollector("unix")
    try:
        emitter = make(server.address)
        assert server.wait_for(lambda s: len(s.of_kind("hello")) == 1)
        worst = 0.0
        for step in range(30):
            sent = time.monotonic()
            emitter.emit("progress", {"step": step})
            assert server.wait_for(lambda s: len(s.of_kind("progress")) == step + 1, timeout=2)
            worst = max(worst, time.monotonic() - sent)
            time.sleep(0.003)
        assert worst < 0.2, worst  # 20 ms interval; generous for a loaded machine
        emitter.stop()
    finally:
        server.close()


def test_lines_are_the_json_of_the_event():
    import json

    emitter = Emitter(transport_for(parse_address("unix:/nonexistent.sock")), 3, dict(HELLO))
    fields = {"step": 7, "total": 10, "epoch": 1.5, "name": 'sa"ve\u00e9', "main": False, "none": None,
              "frames": ["a:1 in f", "b:2"], "metrics": {"loss": 0.25, "nan": float("nan"), "x": "skip"},
              "big": 2 ** 53, "neg": -1.0e-7}
    line = emitter._encode(("progress", 1764374400.123456, 42, fields))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    event = json.loads(line)
    assert event == {"kind": "progress", "rank": 3, "ts": 1764374400.123456, "seq": 42, "step": 7, "total": 10,
                     "epoch": 1.5, "name": 'sa"ve\u00e9', "main": False, "none": None,
                     "frames": ["a:1 in f", "b:2"], "metrics": {"loss": 0.25, "nan": None}, "big": 2 ** 53,
                     "neg": -1.0e-7}
    assert list(event)[:4] == ["kind", "rank", "ts", "seq"]
    assert json.loads(emitter._encode(("heartbeat", 1.0, 1, None))) == {"kind": "heartbeat", "rank": 3, "ts": 1.0,
                                                                          "seq": 1}
    assert json.loads(emitter._encode(("log", 1.0, 2, {"x": float("inf")})))["x"] is None


def test_after_the_collector_drops_the_connection_the_rank_reconnects_with_its_original_hello():
    server = FakeCollector("unix")
    try:
        emitter = make(server.address)
        emitter.emit("progress", {"step": 1})
        assert server.wait_for(lambda s: len(s.of_kind("progress")) == 1)
        server.drop_connections()
        assert server.wait_for(lambda s: len(s.of_kind("hello")) == 2, timeout=10)
        emitter.emit("progress", {"step": 2})
        # The new connection gets the hello, the retained step 1 again (a dead collector may not
        # have logged it; a live one skips the copy by its seq), then step 2.
        assert server.wait_for(lambda s: len(s.of_kind("progress")) == 3)
        first, second = server.of_kind("hello")
        assert first == second  # same ts, same seq 0: the original hello, re-sent
        steps = [(e["step"], e["seq"]) for e in server.of_kind("progress")]
        assert steps == [(1, 1), (1, 1), (2, 2)], steps
        assert emitter.connections == 2
        emitter.stop()
    finally:
        server.close()


def test_an_idle_rank_sends_a_heartbeat_after_two_seconds():
    server = FakeCollector("unix")
    try:
        emitter = make(server.address)
        assert server.wait_for(lambda s: len(s.of_kind("hello")) == 1)
        started = time.monotonic()
        assert server.wait_for(lambda s: len(s.of_kind("heartbeat")) >= 1, timeout=5)
        assert time.monotonic() - started >= 1.5
        assert server.of_kind("heartbeat")[0]["seq"] == 1
        emitter.stop()
    finally:
        server.close()


def test_control_lines_reach_the_handler_and_garbage_is_ignored():
    server = FakeCollector("unix")
    received = []
    try:
        make(server.address, on_control=received.append)
        assert server.wait_for(lambda s: len(s.of_kind("hello")) == 1)
        connection = server.connections[0]
        connection.sock.sendall(b"not json\n" + b"x" * 70000 + b"\n[1,2]\n")
        connection.send({"kind": "inject", "id": "i1", "reason": "why"})
        connection.send({"kind": "stack.req", "id": "s1"})
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert received == [{"kind": "inject", "id": "i1", "reason": "why"}, {"kind": "stack.req", "id": "s1"}]
    finally:
        server.close()


def test_values_json_cannot_hold_are_cleaned_and_oversized_lines_are_not_sent():
    server = FakeCollector("unix")
    try:
        emitter = make(server.address)
        emitter.emit("progress", {"step": 1, "metrics": {"nan": float("nan"), "inf": float("inf"), "ok": 2,
                                                         "text": "skip me", "flag": True}})
        emitter.emit("log", {"level": "info", "msg": "x" * 70000})
        emitter.emit("log", {"level": "info", "msg": object()})
        emitter.emit("progress", {"step": 2})
        assert server.wait_for(lambda s: len(s.of_kind("progress")) == 2)
        assert server.of_kind("progress")[0]["metrics"] == {"nan": None, "inf": None, "ok": 2.0, "flag": 1.0}
        assert len(server.of_kind("log")) == 1 and server.of_kind("log")[0]["msg"].startswith("<object")
        assert emitter.oversized == 1
        assert server.problems == []
    finally:
        server.close()


def test_flush_gives_up_quickly_when_nobody_listens():
    emitter = make("unix:" + os.path.join(tempfile.mkdtemp(), "nobody.sock"))
    emitter.emit("bye", {})
    started = time.monotonic()
    assert emitter.flush(1.0) is False
    assert time.monotonic() - started < 1.5


def test_a_collector_that_refuses_the_rank_gets_backed_off_reconnects_and_one_warning(capfd):
    server = FakeCollector("unix", refuse=True)
    try:
        emitter = make(server.address)
        errors = ""
        deadline = time.monotonic() + 20
        while "right after hello" not in errors and time.monotonic() < deadline:
            time.sleep(0.05)
            errors += capfd.readouterr().err
        assert len(server.of_kind("hello")) >= 3
        before = len(server.of_kind("hello"))
        time.sleep(1.0)
        # Backed off (50 ms, 100 ms, ... 2 s between attempts), not a tight reconnect loop.
        assert len(server.of_kind("hello")) - before <= 5
        errors += capfd.readouterr().err
        assert errors.count("closes this rank's connection right after hello") == 1, errors
        assert "RANKTOP_TOKEN" in errors and server.address in errors
        emitter.stop()
    finally:
        server.close()


def test_without_a_collector_the_writer_wakes_once_per_reconnect_attempt_not_on_a_poll():
    emitter = make("unix:" + os.path.join(tempfile.mkdtemp(), "nobody.sock"))
    try:
        for step in range(100):
            emitter.emit("progress", {"step": step})
        time.sleep(1.6)  # backoff 50, 100, 200, 400, 800 ms: about 5 attempts
        assert emitter.writer_cycles <= 8, emitter.writer_cycles  # a 20 ms poll would be ~80
        assert emitter.wakeups == 0  # emits never wake a writer that is backing off
    finally:
        emitter.stop()


def test_the_writer_waits_for_the_next_tick_of_the_wall_clock():
    # Every rank of a host sends at the same ticks (one collector wake reads several), and an
    # event never waits more than one interval.
    interval = _emitter.FLUSH_INTERVAL_SECONDS
    for _ in range(500):
        before = time.time()
        wait = _emitter._until_next_tick()
        after = time.time()
        assert 0 < wait <= interval
        tick = round((before + wait) / interval) * interval
        assert abs(before + wait - tick) <= (after - before) + 1e-6


class _Scalar:
    """A tensor-like metric value (`item()`), which only the Python encoder reads."""

    def __init__(self, value):
        self.value = value

    def item(self):
        return self.value


def _mixed_events(count):
    """Every kind of value both encoders meet, the common ones most often, in a seeded mix."""
    import random

    rng = random.Random(7)
    names = ["step", "total", "epoch", "name", "site", "n", "group", "op", "async", "msg", "frames", "extra"]
    values = [
        lambda: rng.randrange(-2 ** 63, 2 ** 63), lambda: rng.randrange(100), lambda: 2 ** 70, lambda: True, lambda: False,
        lambda: None, lambda: rng.random() * 10 ** rng.randrange(-12, 12), lambda: float("nan"), lambda: float("-inf"),
        lambda: "save", lambda: 'q"uo\\te\n\t\x01\x7f', lambda: "caf\u00e9", lambda: "x" * rng.choice([10, 1100, 70000]),
        lambda: ["a", 1], lambda: {"nested": 1}, lambda: object(), lambda: 0.1,
    ]
    metric_values = [lambda: rng.random(), lambda: rng.randrange(10 ** 6), lambda: 2 ** 1100, lambda: float("inf"),
                     lambda: _Scalar(0.5), lambda: "text", lambda: True]
    events = []
    for seq in range(count):
        kind = rng.choice(["progress", "progress", "barrier.enter", "collective.enter", "log", "kind-%d" % rng.randrange(50)])
        ts = rng.choice([1764374400.0 + rng.random() * 10 ** 7, 1764374400.0, 1764374400.5, 0.5, 2 ** 40 + 0.25])
        fields = None
        if rng.random() < 0.9:
            fields = {rng.choice(names): rng.choice(values)() for _ in range(rng.randrange(0, 6))}
            if kind == "progress":
                fields["metrics"] = {"m%d" % rng.randrange(30): rng.choice(metric_values)() for _ in range(rng.randrange(0, 5))}
        events.append((kind, ts, seq, fields))
    return events


@pytest.mark.skipif(_emitter._native is None and os.environ.get("RANKTOP_REQUIRE_NATIVE") != "1",
                    reason="the C encoder is not built here (scripts/test-python builds it)")
def test_the_c_batch_encoder_writes_the_python_encoders_bytes():
    assert _emitter._native is not None, "RANKTOP_REQUIRE_NATIVE=1 but ranktop._native did not import"
    events = _mixed_events(4000)
    native = Emitter(transport_for(parse_address("unix:/nonexistent.sock")), 3, dict(HELLO))
    python = Emitter(transport_for(parse_address("unix:/nonexistent.sock")), 3, dict(HELLO))
    # In batches, as the writer takes them: the caches fill as they go, so later events of a kind
    # take the C path where the first took Python's.
    for start in range(0, len(events), 128):
        batch = events[start:start + 128]
        assert native._encode_batch(batch) == python._encode_batch_in_python(batch), start
    assert native.oversized == python.oversized > 0
    # A training loop's events: all but the first of each kind and name take the C path.
    loop = []
    for step in range(2000):
        loop.append(("progress", 1764374400.0 + step * 0.0173, 2 * step, {"step": step, "total": 2000, "epoch": step / 100,
                                                                          "metrics": {"loss": 2.5 / (step + 1), "lr": 3e-4, "tokens": 4096}}))
        loop.append(("barrier.enter", 1764374400.0 + step * 0.0173 + 1e-6, 2 * step + 1,
                     {"n": step, "name": 'save "ckpt"\n', "site": "train.py:88"}))
    slow_calls = []
    original = native._encode_one
    native._encode_one = lambda item: slow_calls.append(item) or original(item)
    assert native._encode_batch(loop) == python._encode_batch_in_python(loop)
    assert len(slow_calls) <= 2, slow_calls[:3]  # the first progress (new metric names), perhaps the first barrier
    # Timestamps of every magnitude the C path takes and around its edges (2^33 s: where a double's
    # spacing passes a microsecond).
    import random

    rng = random.Random(11)
    stamps = [rng.uniform(1e6, 2 ** 34) for _ in range(3000)] + [time.time() + i * 1e-6 for i in range(2000)]
    stamps += [1e6, 1e6 + 1e-6, 2.0 ** 33 - 1e-6, 2.0 ** 33, 2.0 ** 33 + 0.5, 1764374400.0, 0.0, 999999.999999]
    batch = [("barrier.exit", ts, i, {"n": i}) for i, ts in enumerate(stamps)]
    assert native._encode_batch(batch) == python._encode_batch_in_python(batch)
