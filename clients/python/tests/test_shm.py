"""The shared-memory writer (`shm://NAME`) against the test-only reader, which follows the doc's
reading rules (tests/support/shm_reader.py): the header, the records and state records, the ring,
areas claimed by several processes, the control block, and a reader racing a writer."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest

from ranktop import _shm
from ranktop._address import AddressError, parse_address
from ranktop._emitter import Emitter
from ranktop._shm import SegmentError, SharedMemoryEmitter
from ranktop._transport import transport_for
from tests.conftest import PY_DIR, line_of
from tests.support.protocol import check_event
from tests.support.shm_reader import Segment

HELLO = {"v": 1, "run": "r", "world": 8, "local_rank": 0, "local_world": 8, "node": "n", "pid": os.getpid(),
         "runtime": "test", "caps": ["inject", "stack"]}


@pytest.fixture
def shm_dir(monkeypatch):
    """A fresh RANKTOP_SHM_DIR, on tmpfs where there is one (a mapping of a disk file is slow)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    directory = tempfile.mkdtemp(prefix="ranktop-test-", dir=base)
    monkeypatch.setenv("RANKTOP_SHM_DIR", directory)
    monkeypatch.setenv("RANKTOP_SHM_KEEP", "1")  # the tests read segments after their ranks said bye
    monkeypatch.delenv("RANKTOP_SHM_SLOTS", raising=False)
    monkeypatch.delenv("RANKTOP_SHM_RANKS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def make(name="t", rank=0, local_rank=0, hello=None, **kwargs):
    fields = dict(HELLO if hello is None else hello, local_rank=local_rank)
    return SharedMemoryEmitter(name, rank, fields, local_rank=local_rank, **kwargs)


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# -- the file and its header --------------------------------------------------------------------


def test_the_segment_is_a_0600_file_whose_header_says_the_layout(shm_dir):
    emitter = make("run42", ring_slots=1024)
    path = os.path.join(shm_dir, "ranktop-run42")
    assert emitter.path == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    segment = Segment(path)
    header = segment.header()
    assert header["magic"] == b"ranktop\0" and header["layout"] == 1 and header["header_bytes"] == 4096
    assert (header["rank_capacity"], header["ring_slots"], header["slot_bytes"], header["state_bytes"]) == (
        64, 1024, 256, 4096)
    assert header["ranks_offset"] == 4096 + 64 * 512
    assert header["rank_stride"] == 4096 + 1024 * 256
    assert (header["control_slots"], header["control_slot_bytes"], header["control_head"]) == (64, 512, 0)
    assert header["creator_pid"] == os.getpid() and abs(header["created"] - time.time()) < 60
    assert header["name"] == "run42" and header["reserved"] == 0
    assert os.path.getsize(path) == header["ranks_offset"] + 64 * header["rank_stride"]
    state = segment.area(0).state()
    assert (state["pid"], state["generation"], state["rank"], state["flags"]) == (os.getpid(), 1, 0, 0)
    assert (state["head"], state["seq"], state["step"], state["total"], state["dropped"]) == (1, 0, -1, -1, 0)
    emitter.stop()
    segment.close()


def test_a_0644_file_left_over_is_made_0600(shm_dir):
    path = os.path.join(shm_dir, "ranktop-old")
    with open(path, "wb"):
        pass
    os.chmod(path, 0o644)
    make("old").stop()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_ring_slots_from_the_environment_are_a_power_of_two_of_at_least_1024(shm_dir, monkeypatch):
    for value, expected in (("1", 1024), ("1025", 2048), ("4096", 4096), ("junk", 8192)):
        monkeypatch.setenv("RANKTOP_SHM_SLOTS", value)
        assert _shm.ring_slots_from_environment() == expected
    monkeypatch.setenv("RANKTOP_SHM_SLOTS", "3000")
    emitter = make("slots")
    assert Segment(emitter.path).header()["ring_slots"] == 4096
    emitter.stop()


def test_rank_capacity_is_at_least_the_local_world(shm_dir, monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "96")
    emitter = make("big", ring_slots=1024)
    assert Segment(emitter.path).header()["rank_capacity"] == 96
    emitter.stop()
    monkeypatch.setenv("RANKTOP_SHM_RANKS", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    emitter = make("small", ring_slots=1024, hello=dict(HELLO, local_world=2))
    assert Segment(emitter.path).header()["rank_capacity"] == 4
    emitter.stop()


def test_a_later_process_keeps_the_geometry_of_the_file(shm_dir):
    first = make("geo", ring_slots=2048)
    second = make("geo", rank=1, local_rank=1, ring_slots=8192)
    assert second.geometry.ring_slots == 2048 and second.area == 1
    first.stop()
    second.stop()


def test_auto_names_the_segment_after_the_run_id_with_other_characters_replaced(shm_dir):
    emitter = make("auto", hello=dict(HELLO, run="job 7/train:a" + "x" * 200))
    assert emitter.name == ("job_7_train_a" + "x" * 200)[:100]
    assert os.path.exists(os.path.join(shm_dir, "ranktop-" + emitter.name))
    emitter.stop()
    # Byte by byte, as the Swift side names it: a two-byte character is two '_'.
    assert _shm.auto_name("caf\u00e9-1") == "caf__-1"
    assert _shm.auto_name("\u00e9" * 60) == "_" * 100
    assert _shm.auto_name("..") == _shm.auto_name("") == "run"


def test_names_outside_the_alphabet_are_refused_by_the_address(shm_dir):
    for text in ("shm://a b", "shm://" + "x" * 101, "shm://", "shm://a/b", "shm://.", "shm://.."):
        with pytest.raises(AddressError):
            parse_address(text)
    assert parse_address("shm://run-4.2_a").name == "run-4.2_a"
    for name in ("a b", ".", ".."):
        with pytest.raises(SegmentError):
            make(name)


def test_a_file_that_is_not_a_segment_is_refused_and_left_alone(shm_dir):
    path = os.path.join(shm_dir, "ranktop-foreign")
    with open(path, "wb") as f:
        f.write(b"not ranktop".ljust(8192, b"!"))
    with pytest.raises(SegmentError):
        make("foreign")
    with open(path, "rb") as f:
        assert f.read(11) == b"not ranktop"


def test_a_header_whose_creator_died_before_layout_is_made_again(shm_dir):
    path = os.path.join(shm_dir, "ranktop-half")
    with open(path, "wb") as f:
        f.write(b"ranktop\0" + b"\0" * 8184)  # layout 0: never finished
    emitter = make("half", ring_slots=1024)
    assert Segment(path).header()["layout"] == 1
    emitter.stop()


def test_a_directory_that_does_not_exist_is_a_segment_error(shm_dir, monkeypatch):
    monkeypatch.setenv("RANKTOP_SHM_DIR", os.path.join(shm_dir, "missing"))
    with pytest.raises(SegmentError) as error:
        make("x")
    assert "cannot open" in str(error.value)


# -- records --------------------------------------------------------------------------------------

# Fields of every type the socket emitter's encoder treats in its own way.
VARIETY = [
    ("progress", {"step": 7, "total": 10, "epoch": 1.5, "metrics": {"loss": 0.25, "acc": 1, "nan": float("nan"),
                                                                    "skip": "x", "flag": True}}),
    ("progress", {"step": 8, "metrics": {"loss": 2.5e-07}}),
    ("barrier.enter", {"n": 3, "name": 'sa"ve\u00e9\n', "site": "train.py:88", "phase": "load"}),
    ("barrier.exit", {"n": 3}),
    ("collective.enter", {"group": "world", "n": 0, "op": "all_reduce", "size": 8, "members": [0, 1, 2],
                          "bytes": 4096, "dtype": "float32", "label": "ddp.gradients", "async": True}),
    ("collective.exit", {"group": "world", "n": 0, "op": "all_reduce"}),
    ("log", {"level": "warning", "msg": "caf\u00e9 \U0001f600 " * 3}),
    ("stack", {"id": "stk-1", "frames": ["a.py:1 in f: x = 1", "b.py:2 in g"]}),
    ("trigger.check", {"n": 2, "fired": False}),
    ("bye", {"code": 0, "error": None, "big": 2 ** 70, "neg": -1.0e-7, "inf": float("inf"), "t": (1, 2)}),
    ("heartbeat", None),
    ("phase.enter", {"name": "p", "mode": "main_first", "main": True}),
]


def socket_line(rank, kind, ts, seq, fields):
    emitter = Emitter(transport_for(parse_address("unix:/nonexistent.sock")), rank, dict(HELLO))
    return emitter._encode((kind, ts, seq, fields))


def test_every_record_is_the_socket_emitters_line_without_its_newline(shm_dir):
    emitter = make("bytes", rank=5, local_rank=5, ring_slots=1024)
    for _ in range(3):  # the first time of a kind or a field name, and the fast path after it
        for kind, fields in VARIETY:
            emitter.emit(kind, None if fields is None else dict(fields))
    records = Segment(emitter.path).area(5).cursor(0).drain()
    assert len(records) == 1 + 3 * len(VARIETY) and emitter.errors == 0 and emitter.dropped == 0
    for index, (_, data) in enumerate(records):
        event = json.loads(data)
        if index == 0:
            kind, fields = "hello", dict(HELLO, local_rank=5)
        else:
            kind, fields = VARIETY[(index - 1) % len(VARIETY)]
        assert data == socket_line(5, kind, event["ts"], event["seq"], fields).rstrip(b"\n"), index
        assert event["seq"] == index
    emitter.stop()


def test_ts_is_written_as_the_socket_emitter_writes_it_for_any_microsecond(shm_dir):
    emitter = make("ts", ring_slots=1024)
    socket_emitter = Emitter(transport_for(parse_address("unix:/nonexistent.sock")), 0, dict(HELLO))
    now = time.time_ns() // 1000
    samples = [now + i for i in range(3000)] + [random.randrange(1_000_000, 9 * 10 ** 15) for _ in range(3000)]
    samples += [1_000_000, 1_000_001, 1_500_000, 10 ** 15, (1 << 33) * 10 ** 6 - 1, (1 << 33) * 10 ** 6, 5, 0]
    for us in samples:
        fields = {"n": 1}
        ours = emitter._encode("barrier.exit", us, 4, fields)
        theirs = socket_emitter._encode(("barrier.exit", us / 1e6, 4, fields)).rstrip(b"\n")
        assert ours == theirs, us
    emitter.stop()


def test_a_record_longer_than_a_slot_takes_several_consecutive_slots(shm_dir):
    emitter = make("long", ring_slots=1024)
    metrics = {"metric_%02d" % i: i + 0.5 for i in range(36)}
    emitter.emit("progress", {"step": 1, "metrics": metrics})
    emitter.emit("barrier.exit", {"n": 0})
    area = Segment(emitter.path).area(0)
    records = area.cursor(0).drain()
    data = records[1][1]
    assert 600 < len(data) <= 720, len(data)  # three slots
    assert [index for index, _ in records] == [0, 1, 4] and area.head == 5
    assert json.loads(data)["metrics"] == metrics
    assert area.record_event("progress")["metrics"] == metrics
    emitter.stop()


def test_a_record_too_large_for_the_ring_is_dropped_counted_and_leaves_a_seq_gap(shm_dir):
    emitter = make("huge", ring_slots=1024)  # a quarter of the ring: 256 slots, 61,440 bytes
    emitter.emit("log", {"level": "info", "msg": "x" * 62000})
    emitter.emit("log", {"level": "info", "msg": "x" * 70000})  # beyond 65,536: the encoder refuses it
    emitter.emit("log", {"level": "info", "msg": "small"})
    area = Segment(emitter.path).area(0)
    events = area.cursor(0).events()
    assert [e["seq"] for e in events] == [0, 3]
    assert emitter.dropped == 2 and area.state()["dropped"] == 2 and emitter.oversized == 1
    emitter.stop()


def test_a_value_json_cannot_hold_drops_the_event_and_never_raises(shm_dir):
    emitter = make("odd", ring_slots=1024)
    cycle = []
    cycle.append(cycle)
    emitter.emit("log", {"level": "info", "msg": object()})  # str() of it: written, as the socket emitter does
    emitter.emit("log", {"level": "info", "msg": cycle})
    emitter.emit("heartbeat")
    events = Segment(emitter.path).area(0).cursor(0).events()
    assert [e["kind"] for e in events] == ["hello", "log", "heartbeat"]
    assert emitter.dropped == 1
    emitter.stop()


# -- the state block --------------------------------------------------------------------------------


def test_the_state_records_hold_the_hello_the_last_progress_and_what_is_open(shm_dir):
    emitter = make("state", rank=2, local_rank=2, ring_slots=1024)
    area = Segment(emitter.path).area(2)
    hello = area.record_event("hello")
    assert hello["kind"] == "hello" and hello["seq"] == 0 and hello["rank"] == 2 and "token" not in hello
    assert area.record("progress") is None and area.record("barrier") is None and area.record("phase") is None

    emitter.emit("progress", {"step": 1, "total": 100, "metrics": {"loss": 1.0}})
    emitter.emit("progress", {"step": 2, "total": 100, "metrics": {"loss": 0.5}})
    state = area.state()
    assert area.record_event("progress")["metrics"] == {"loss": 0.5}
    assert (state["step"], state["total"], state["seq"]) == (2, 100, 2)
    assert state["progress_ts"] == state["ts"] == area.record_event("progress")["ts"]

    emitter.emit("phase.enter", {"name": "outer", "mode": "main_first", "main": True})
    emitter.emit("phase.enter", {"name": "inner", "mode": "local_main_first", "main": False})
    assert area.record_event("phase")["name"] == "inner"
    emitter.emit("barrier.enter", {"n": 0, "name": "inner", "phase": "inner"})
    barrier = area.record_event("barrier")
    assert barrier["n"] == 0 and area.state()["wait_since"] == barrier["ts"]
    emitter.emit("barrier.exit", {"n": 0})
    assert area.record("barrier") is None and area.state()["wait_since"] == 0
    emitter.emit("phase.exit", {"name": "inner"})
    assert area.record_event("phase")["name"] == "outer", "the innermost open phase"
    emitter.emit("phase.exit", {"name": "outer"})
    assert area.record("phase") is None
    assert area.state()["seq"] == 8 and area.state()["flags"] == 0

    emitter.emit("bye", {"code": 0})
    assert area.state()["flags"] & 1
    emitter.stop()


def test_a_blocking_collective_is_the_open_one_until_its_exit_or_the_next_step(shm_dir):
    emitter = make("coll", ring_slots=1024)
    area = Segment(emitter.path).area(0)
    emitter.emit("collective.enter", {"group": "world", "n": 0, "op": "all_reduce", "async": True})
    assert area.record("collective") is None and area.state()["wait_since"] == 0, "async ops are not waited in"
    emitter.emit("collective.enter", {"group": "world", "n": 1, "op": "all_gather"})
    assert area.record_event("collective")["n"] == 1
    assert area.state()["wait_since"] == area.record_event("collective")["ts"]
    emitter.emit("collective.exit", {"group": "world", "n": 0, "op": "all_reduce"})  # the async one completes
    assert area.record_event("collective")["n"] == 1
    emitter.emit("collective.exit", {"group": "p2p:0>1", "n": 1, "op": "p2p"})
    assert area.record_event("collective")["n"] == 1, "another group's exit"
    emitter.emit("collective.exit", {"group": "world", "n": 1, "op": "all_gather"})
    assert area.record("collective") is None and area.state()["wait_since"] == 0

    emitter.emit("barrier.enter", {"n": 0})
    emitter.emit("collective.enter", {"group": "world", "n": 2, "op": "broadcast"})
    barrier_ts = area.record_event("barrier")["ts"]
    assert area.state()["wait_since"] == barrier_ts, "waiting since the earlier of the two"
    emitter.emit("progress", {"step": 1})  # a step ends every blocking collective
    assert area.record("collective") is None and area.record_event("barrier")["n"] == 0
    assert area.state()["wait_since"] == barrier_ts and area.state()["total"] == -1
    emitter.emit("barrier.exit", {"n": 0})
    assert area.state()["wait_since"] == 0
    emitter.stop()


# -- the ring -------------------------------------------------------------------------------------


def test_a_full_ring_keeps_its_newest_slots_and_the_seq_gap_shows_the_rest(shm_dir):
    emitter = make("wrap", ring_slots=1024)
    for step in range(3000):
        emitter.emit("progress", {"step": step})
    area = Segment(emitter.path).area(0)
    assert area.head == 3001
    cursor = area.cursor()  # a reader that attaches now starts at head - ring_slots
    events = cursor.events()
    assert [e["seq"] for e in events] == list(range(3001 - 1024, 3001))
    assert cursor.skipped == cursor.torn == 0
    late = area.cursor(0)  # one that was at 0: lapped by 3001 - 1024 slots
    assert [e["seq"] for e in late.events()] == list(range(3001 - 1024, 3001)) and late.lapped == 3001 - 1024
    # The state block still says who the rank is and where it is.
    assert area.record_event("hello")["seq"] == 0 and area.record_event("progress")["step"] == 2999
    emitter.stop()


def test_a_reader_that_joins_mid_record_skips_the_continuation_slots(shm_dir):
    emitter = make("mid", ring_slots=1024)
    emitter.emit("log", {"level": "info", "msg": "y" * 1000})  # slots 1..5
    emitter.emit("heartbeat")
    cursor = Segment(emitter.path).area(0).cursor(3)
    assert [json.loads(d)["kind"] for _, d in cursor.drain()] == ["heartbeat"] and cursor.skipped == 3
    emitter.stop()


def test_after_stop_emit_is_a_no_op(shm_dir):
    emitter = make("stopped", ring_slots=1024)
    emitter.close()
    emitter.emit("progress", {"step": 1})
    emitter.stop()
    area = Segment(emitter.path).area(0)
    assert [e["kind"] for e in area.cursor(0).events()] == ["hello", "bye"]
    assert area.state()["flags"] & 1 and emitter.errors == 0


def test_stop_unmaps_the_segment(shm_dir):
    emitter = make("unmap", ring_slots=1024)
    mapping = emitter._mm
    emitter.stop()
    assert mapping.closed and emitter.flush(1.0) is False and not emitter.connected


def test_an_emit_that_interrupts_an_emit_of_the_same_thread_neither_hangs_nor_mixes_records(shm_dir, monkeypatch):
    # What a signal handler or a finalizer that emits would do, while this thread holds the lock.
    emitter = make("reenter", ring_slots=1024)
    original = _shm._UPDATERS["barrier.enter"]

    def interrupted(self, *args):
        emitter.emit("log", {"level": "info", "msg": "from a handler"})
        original(self, *args)

    monkeypatch.setitem(_shm._UPDATERS, "barrier.enter", interrupted)
    done = threading.Event()
    threading.Thread(target=lambda: (emitter.emit("barrier.enter", {"n": 0}), done.set()), daemon=True).start()
    assert done.wait(5), "the inner emit hung on the lock"
    area = Segment(emitter.path).area(0)
    assert [e["kind"] for e in area.cursor(0).events()] == ["hello", "barrier.enter", "log"]
    assert area.record_event("barrier")["n"] == 0 and emitter.errors == 0
    emitter.stop()


def test_the_last_rank_to_say_bye_removes_the_segment_of_a_clean_run(shm_dir, monkeypatch):
    monkeypatch.delenv("RANKTOP_SHM_KEEP")
    first, second = make("clean", rank=0, local_rank=0), make("clean", rank=1, local_rank=1)
    first.close()
    assert os.path.exists(first.path) and not first.removed, "rank 1 has not said bye"
    second.close()
    assert not os.path.exists(first.path) and second.removed


def test_a_run_with_a_rank_that_did_not_say_bye_keeps_its_segment(shm_dir, monkeypatch):
    monkeypatch.delenv("RANKTOP_SHM_KEEP")
    first, second = make("unclean", rank=0, local_rank=0), make("unclean", rank=1, local_rank=1)
    second.stop()  # gone without bye
    first.close()
    assert os.path.exists(first.path) and not first.removed


def test_keep_keeps_even_a_clean_runs_segment(shm_dir):
    emitter = make("kept")
    emitter.close()
    assert os.path.exists(emitter.path) and not emitter.removed


# -- several processes ------------------------------------------------------------------------------

CLAIMER = textwrap.dedent("""\
    import json, os, sys
    sys.path.insert(0, %r)
    from ranktop._shm import SharedMemoryEmitter
    rank, local_rank, events = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    hello = {"v": 1, "run": "r", "world": 8, "local_rank": local_rank, "local_world": 8, "node": "n",
             "pid": os.getpid(), "runtime": "test", "caps": []}
    emitter = SharedMemoryEmitter("multi", rank, hello, local_rank=local_rank, ring_slots=1024)
    for step in range(events):
        emitter.emit("progress", {"step": step})
    print(json.dumps({"area": emitter.area, "generation": emitter.generation}), flush=True)
    if sys.argv[4] == "wait":
        sys.stdin.readline()
    if sys.argv[5] == "bye":
        emitter.close()
""") % (str(PY_DIR),)


def claimer(rank, local_rank, events=3, wait=True, bye=True):
    process = subprocess.Popen([sys.executable, "-c", CLAIMER, str(rank), str(local_rank), str(events),
                                "wait" if wait else "go", "bye" if bye else "die"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    line = process.stdout.readline()
    assert line, "the claimer printed nothing"
    return process, json.loads(line)


def finish(process):
    try:
        process.stdin.write("\n")
        process.stdin.flush()
    except (BrokenPipeError, ValueError):
        pass
    process.communicate(timeout=30)
    assert process.returncode == 0


def test_two_processes_claim_their_own_areas_of_one_segment(shm_dir):
    first, one = claimer(rank=3, local_rank=0, events=5)
    second, two = claimer(rank=4, local_rank=1, events=7)
    third, three = claimer(rank=5, local_rank=0, events=1)  # its local_rank's area is taken: the first free one
    try:
        assert (one["area"], two["area"], three["area"]) == (0, 1, 2)
        segment = Segment(os.path.join(shm_dir, "ranktop-multi"))
        for rank, pid, events in ((3, first.pid, 5), (4, second.pid, 7), (5, third.pid, 1)):
            area = segment.area_of_rank(rank)
            state = area.state()
            assert (state["pid"], state["generation"], state["seq"]) == (pid, 1, events)
            received = area.cursor(0).events()
            assert [e["seq"] for e in received] == list(range(events + 1))
            assert {e["rank"] for e in received} == {rank} and received[0]["pid"] == pid
    finally:
        for process in (first, second, third):
            finish(process)
    assert all(a.state()["flags"] & 1 for a in Segment(os.path.join(shm_dir, "ranktop-multi")).areas())


def test_the_area_of_a_dead_process_is_claimed_again_with_its_head_kept(shm_dir):
    process, before = claimer(rank=2, local_rank=2, events=10, wait=False, bye=False)
    process.communicate(timeout=30)  # gone without bye (and reaped: its pid is dead)
    segment = Segment(os.path.join(shm_dir, "ranktop-multi"))
    area = segment.area(before["area"])
    assert area.state()["flags"] == 0 and area.head == 11
    assert area.record_event("progress")["step"] == 9

    # The same global rank takes its area back, even from another local_rank (a launcher that
    # numbered the node's processes differently this time).
    again, after = claimer(rank=2, local_rank=5, events=4)
    try:
        assert after["area"] == before["area"] and after["generation"] == 2
        state = area.state()
        assert (state["pid"], state["generation"], state["rank"], state["seq"]) == (again.pid, 2, 2, 4)
        assert area.head == 11 + 5, "the head is kept: a reader's position stays valid"
        assert area.record("barrier") is None and area.record_event("progress")["step"] == 3
        assert area.record_event("hello")["pid"] == again.pid
        records = area.cursor(0).drain()
        assert [i for i, _ in records] == list(range(16))
        assert [json.loads(d)["pid"] for i, d in records if json.loads(d)["kind"] == "hello"] == [process.pid, again.pid]
    finally:
        finish(again)


def test_a_live_process_keeps_its_area_from_a_second_claim_of_the_same_rank(shm_dir):
    first, one = claimer(rank=0, local_rank=0)
    second, two = claimer(rank=0, local_rank=0)
    try:
        assert one["area"] == 0 and two["area"] == 1
    finally:
        finish(first)
        finish(second)


# -- the control block -------------------------------------------------------------------------------


def test_control_lines_for_this_rank_or_all_reach_on_control_and_others_do_not(shm_dir):
    received = []
    early = make("ctl-early", ring_slots=1024)  # makes the file: a control line written before the rank starts
    segment = Segment(early.path)
    early.stop()
    segment.write_control(b'{"kind":"inject","id":"inj-early","reason":"before"}', target=-1)
    emitter = make("ctl-early", rank=4, local_rank=1, on_control=received.append)
    emitter.start()
    try:
        assert wait_until(lambda: len(received) == 1)
        assert received[0] == {"kind": "inject", "id": "inj-early", "reason": "before"}
        segment.write_control(b'{"kind":"inject","id":"inj-2"}', target=3)  # another rank's
        segment.write_control(b'{"kind":"stack.req","id":"stk-old"}', target=4, ts=time.time() - 30)  # stale
        segment.write_control(b'{"kind":"inject","id":"inj-old"}', target=4, ts=time.time() - 4000)  # another run's
        segment.write_control(b'not json', target=-1)
        segment.write_control(b'{"kind":"stack.req","id":"stk-1"}', target=4)
        assert wait_until(lambda: len(received) == 2)
        time.sleep(0.2)
        assert received[1] == {"kind": "stack.req", "id": "stk-1"} and len(received) == 2
    finally:
        emitter.stop()


def test_a_control_slot_whose_writer_died_before_its_stamp_is_skipped_after_half_a_second(shm_dir):
    received = []
    emitter = make("ctl-dead", on_control=received.append)
    emitter.start()
    segment = Segment(emitter.path)
    try:
        segment.q[72 // 8] = 1  # a writer took slot 0 and died
        segment.write_control(b'{"kind":"inject","id":"inj-after"}')
        time.sleep(0.2)
        assert received == []
        assert wait_until(lambda: received == [{"kind": "inject", "id": "inj-after"}], timeout=5)
    finally:
        emitter.stop()


def test_more_control_lines_than_slots_while_the_rank_looked_away_keep_the_newest(shm_dir):
    received = []
    emitter = make("ctl-lap", on_control=received.append)
    segment = Segment(emitter.path)
    for i in range(100):
        segment.write_control(('{"kind":"inject","id":"inj-%d"}' % i).encode())
    emitter.start()
    try:
        assert wait_until(lambda: len(received) == 64)
        assert [m["id"] for m in received] == ["inj-%d" % i for i in range(36, 100)]
    finally:
        emitter.stop()


def test_the_control_thread_runs_tick_for_async_collectives(shm_dir):
    emitter = make("tick")
    ticks = []
    emitter.tick = lambda: ticks.append(1) or False
    emitter.start()
    try:
        assert wait_until(lambda: len(ticks) >= 3, timeout=5)
    finally:
        emitter.stop()


# -- a reader racing the writer ------------------------------------------------------------------------

WRITER = textwrap.dedent("""\
    import os, sys, time
    sys.path.insert(0, %r)
    from ranktop._shm import SharedMemoryEmitter
    hello = {"v": 1, "run": "r", "world": 1, "local_rank": 0, "local_world": 1, "node": "n",
             "pid": os.getpid(), "runtime": "test", "caps": []}
    emitter = SharedMemoryEmitter("race", 0, hello, local_rank=0, ring_slots=1024)
    print("ready", flush=True)
    deadline = time.monotonic() + float(sys.argv[1])
    seq = 0
    while time.monotonic() < deadline:
        seq += 1
        # 1 to 4 slots a record; the text is a function of seq, so a mixed copy cannot pass as whole.
        emitter.emit("log", {"level": "info", "msg": ("%%d-" %% seq) * (1 + seq %% 97 * 8 // 10)})
    print("wrote", seq, emitter.errors, flush=True)
""") % (str(PY_DIR),)


def test_a_reader_racing_a_full_speed_writer_never_takes_a_torn_record(shm_dir):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, "3"], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ))
    assert writer.stdout.readline().strip() == "ready"
    segment = Segment(os.path.join(shm_dir, "ranktop-race"))
    cursor = segment.area(0).cursor(0)
    widen = random.Random(7)
    # Between the copy and the second stamp check, sometimes hand the CPU away: the writer laps
    # the slot being copied, which the check must notice.
    cursor.pause_before_recheck = lambda: time.sleep(0.0005) if widen.random() < 0.05 else None
    checked = 0
    last_seq = -1
    problems = []
    while writer.poll() is None or checked == 0:
        for _, data in cursor.drain():
            event = json.loads(data)
            checked += 1
            seq = event["seq"]
            if seq <= last_seq:
                problems.append("seq %d after %d" % (seq, last_seq))
            last_seq = seq
            if seq > 0 and event["msg"] != ("%d-" % seq) * (1 + seq % 97 * 8 // 10):
                problems.append("record %d is not what was written" % seq)
            if check_event(event):
                problems.append(check_event(event))
        if writer.poll() is not None:
            break
    output = writer.communicate()[0]
    wrote = int(output.split("wrote ")[1].split()[0])
    assert "wrote" in output and output.split()[-1] == "0", output  # no errors in the writer
    assert problems == []
    assert checked > 1000 and wrote > checked / 2
    # The race did happen: copies overlapped the writer (and most of them would not even decode).
    print("race: %d records checked of %d written; torn %d (%d of them undecodable), lapped %d, skipped %d" % (
        checked, wrote, cursor.torn, cursor.torn_unusable, cursor.lapped, cursor.skipped))
    assert cursor.torn > 0 and cursor.lapped > 0, (cursor.torn, cursor.lapped, checked, wrote)


# -- the adapter, zero-code, on shared memory -----------------------------------------------------------

TRAIN = textwrap.dedent("""\
    import os, time
    from accelerate import Accelerator
    accelerator = Accelerator()
    with accelerator.main_process_first():  # MAIN-FIRST
        pass
    accelerator.wait_for_everyone()  # BARRIER
    optimizer = accelerator.prepare_optimizer()
    for step in range(3):
        optimizer.step()
    accelerator.log({"loss": 0.5})
    for check in range(3000):
        if accelerator.check_trigger():
            print("STOP", check, flush=True)
            break
        time.sleep(0.01)
""")


def test_a_two_rank_script_on_shm_reports_like_on_a_socket_and_takes_injections_and_stack_requests(shm_dir, spawn):
    ranks = spawn(TRAIN, world=2, address="shm://auto", env={"RANKTOP_SHM_DIR": shm_dir})
    path = os.path.join(shm_dir, "ranktop-test-run")  # RANKTOP_RUN=test-run

    def both_claimed():
        try:
            return len(Segment(path).areas()) == 2
        except (OSError, ValueError, AssertionError):
            return False  # not there yet, or its header not finished

    assert wait_until(both_claimed, timeout=30)
    segment = Segment(path)
    cursors = {rank: segment.area_of_rank(rank).cursor(0) for rank in (0, 1)}
    streams = {0: [], 1: []}

    def drain():
        for rank, cursor in cursors.items():
            streams[rank].extend(cursor.events())

    def checks(rank):
        drain()
        return len([e for e in streams[rank] if e["kind"] == "trigger.check"])

    assert wait_until(lambda: checks(1) >= 5, timeout=30)
    segment.write_control(b'{"kind":"stack.req","id":"stk-7"}', target=0)
    assert wait_until(lambda: drain() or any(e["kind"] == "stack" for e in streams[0]), timeout=10)
    segment.write_control(b'{"kind":"inject","id":"inj-1","reason":"plateau"}', target=1)
    segment.write_control(b'{"kind":"inject","id":"inj-1","reason":"plateau"}', target=1)  # acts once
    results = ranks.wait()
    assert all(code == 0 for code, _ in results), results
    stops = [output.split("STOP ")[1].split()[0] for _, output in results]
    assert stops[0] == stops[1]
    drain()
    for rank, events in streams.items():
        assert [e["seq"] for e in events] == list(range(len(events))), "no gaps, no reordering"
        assert [check_event(e) for e in events if check_event(e)] == []
        hello = events[0]
        assert (hello["kind"], hello["rank"], hello["world"], hello["run"]) == ("hello", rank, 2, "test-run")
        assert "token" not in hello and hello["caps"] == ["inject", "stack"]
        kinds = [e["kind"] for e in events]
        assert kinds[:5] == ["hello", "phase.enter", "barrier.enter", "barrier.exit", "phase.exit"]
        barrier = [e for e in events if e["kind"] == "barrier.enter"][1]
        assert barrier["site"] == "train.py:%d" % line_of(TRAIN, "BARRIER")
        assert [e["step"] for e in events if e["kind"] == "progress"][:3] == [1, 2, 3]
        assert events[-1]["kind"] == "bye" and events[-1].get("code", 0) == 0
        area = segment.area_of_rank(rank)
        assert area.state()["flags"] & 1 and area.record_event("hello")["pid"] == hello["pid"]
    sets = [e for e in streams[1] if e["kind"] == "trigger.set"]
    assert [(s["source"], s["id"], s["reason"]) for s in sets] == [("manual", "inj-1", "plateau")]
    assert not os.path.exists(path), "every rank said bye: the last one removed the segment"
    stacks = [e for e in streams[0] if e["kind"] == "stack"]
    assert len(stacks) == 1 and stacks[0]["id"] == "stk-7"
    assert any("train.py" in frame for frame in stacks[0]["frames"])
    assert not [e for e in streams[1] if e["kind"] == "stack"], "the request was for rank 0"


def test_a_segment_that_cannot_be_made_is_one_warning_and_the_script_runs(shm_dir, spawn):
    source = "from accelerate import Accelerator\nAccelerator().wait_for_everyone()\nprint('RAN')\n"
    missing = os.path.join(shm_dir, "no", "such", "dir")
    (code, output), = spawn(source, world=1, address="shm://run", env={"RANKTOP_SHM_DIR": missing}).wait()
    assert code == 0 and "RAN" in output
    assert output.count("ranktop: RANKTOP_ADDR=shm://run") == 1 and "cannot open" in output, output


@pytest.mark.skipif(_shm._native is None and os.environ.get("RANKTOP_REQUIRE_NATIVE") != "1",
                    reason="the C encoder is not built here (scripts/test-python builds it)")
def test_the_c_record_encoder_writes_the_python_writers_bytes(shm_dir):
    from tests.test_emitter import _mixed_events

    assert _shm._native is not None, "RANKTOP_REQUIRE_NATIVE=1 but ranktop._native did not import"
    emitter = make("native", ring_slots=1024)
    taken = 0
    rng = random.Random(5)
    events = _mixed_events(3000)
    events += [("progress", 0.0, 3000 + i, {"step": i, "total": 10, "metrics": {"loss": 1.0 / (i + 1)}}) for i in range(500)]
    for kind, ts, seq, fields in events:
        us = rng.choice([time.time_ns() // 1000, rng.randrange(1, 2 ** 34 * 10 ** 6), 10 ** 6 * rng.randrange(1, 10 ** 9)])
        ours = _shm._native.encode_record(kind, us, seq, fields, emitter._prefixes, emitter._keys, emitter._metric_keys)
        theirs = emitter._encode(kind, us, seq, fields)  # the Python encoder; it fills the caches
        if ours is not None:
            taken += 1
            assert ours == theirs, (kind, us, seq, fields)
        _shm._native.encode_record(kind, us, seq, fields, emitter._prefixes, emitter._keys, emitter._metric_keys)
        again = _shm._native.encode_record(kind, us, seq, fields, emitter._prefixes, emitter._keys, emitter._metric_keys)
        assert again is None or again == theirs, (kind, us, seq, fields)
    assert taken > 500
    emitter.stop()


def _training_loop_events():
    """What a rank emits, and the odd cases: first sightings of kinds and names (the Python path),
    records of several slots and over the state records' sizes, async and interleaved collectives,
    a step that ends an open collective, phases, and values only the Python encoder writes."""
    from tests.test_emitter import _mixed_events

    rng = random.Random(11)
    events = []
    for step in range(1, 400):
        events.append(("phase.enter", {"name": "epoch", "mode": "main_first", "main": step % 2 == 0}) if step % 50 == 1 else None)
        events.append(("collective.enter", {"group": "default", "n": step, "op": "all_reduce", "async": step % 3 == 0}))
        events.append(("collective.exit", {"group": "default" if step % 7 else "other", "n": step + step % 5 - 2, "op": "all_reduce"}))
        events.append(("barrier.enter", {"n": step, "name": "train.py:88", "site": "train.py:88"}))
        events.append(("barrier.exit", {"n": step}))
        events.append(("collective.enter", {"group": "default", "n": 10_000 + step, "op": "broadcast"}))
        metrics = {"loss": rng.random() * 10 ** rng.randrange(-8, 8), "lr": 1e-4, "tokens": rng.randrange(10 ** 9)}
        if step % 37 == 0:
            metrics.update({"m%d" % i: rng.random() for i in range(80)})  # a record of 2 KB: no progress record
        events.append(("progress", {"step": step, "total": 400, "metrics": metrics}))
        events.append(("trigger.check", {"n": step, "fired": False}))
        if step % 11 == 0:
            events.append(("log", {"level": "info", "msg": "x" * rng.choice([10, 300, 1100])}))
        if step % 13 == 0:
            events.append(("log", {"level": "info", "msg": "caf\u00e9"}))  # not ASCII: the Python encoder's
        events.append(("phase.exit", {"name": "epoch"}) if step % 50 == 25 else None)
    events += [(kind, fields) for kind, _ts, _seq, fields in _mixed_events(1500)]
    events.append(("bye", {"code": 0}))
    return [event for event in events if event is not None]


@pytest.mark.skipif(_shm._native is None and os.environ.get("RANKTOP_REQUIRE_NATIVE") != "1",
                    reason="the C writer is not built here (scripts/test-python builds it)")
def test_the_c_ring_writer_leaves_the_python_writers_bytes(shm_dir, monkeypatch):
    assert _shm._native is not None, "RANKTOP_REQUIRE_NATIVE=1 but ranktop._native did not import"
    events = _training_loop_events()
    handed_to_python = []
    original_emit_at = SharedMemoryEmitter._emit_at

    def counted_emit_at(self, kind, us, seq, fields):
        handed_to_python.append(kind)
        original_emit_at(self, kind, us, seq, fields)

    monkeypatch.setattr(SharedMemoryEmitter, "_emit_at", counted_emit_at)

    def clock():
        ticks = iter(range(1_764_700_000_123_456_789, 1 << 62, 1_234_567_891))  # ns, distinct µs
        return lambda: next(ticks)

    # Two writers fed the same events and the same clock readings, compared as they go: a later
    # write must not hide an earlier difference.
    native_clock, python_clock = clock(), clock()
    monkeypatch.setattr(_shm, "_time_ns", native_clock)
    native = make("native", ring_slots=1024)
    monkeypatch.setattr(_shm, "_time_ns", python_clock)
    python = make("python", ring_slots=1024)
    assert isinstance(native.__dict__.get("emit"), _shm._native.RingWriter)
    python.__dict__.pop("emit").release()  # the Python writer, with the same lock and state
    for index, (kind, fields) in enumerate(events):
        _shm._time_ns = native_clock  # for what the C writer hands to Python
        native.emit(kind, fields)
        _shm._time_ns = python_clock
        python.emit(kind, fields)
        whole = index % 64 == 0 or index == len(events) - 1
        ours, theirs = (native._mm[:] if whole else native._mm[:4096]), (python._mm[:] if whole else python._mm[:4096])
        if ours != theirs:
            at = next(i for i in range(len(ours)) if ours[i] != theirs[i])
            pytest.fail("after event %d (%s) the areas differ at byte %d (the state block is the first 4096): "
                        "C %r, Python %r" % (index, kind, at, ours[at - 16:at + 48], theirs[at - 16:at + 48]))
    in_python = sum(1 for kind in handed_to_python if kind)
    assert (native.sent, native.dropped, native.oversized, native.errors) == (
        python.sent, python.dropped, python.oversized, python.errors)
    assert python.dropped > 0  # some were too large for the ring
    native.stop()
    python.stop()
    # Python wrote every event of its writer; the C writer handed on under a third of its own.
    assert in_python - len(events) < len(events) / 3, (in_python, len(events))
    area = Segment(os.path.join(shm_dir, "ranktop-native")).area(0)
    assert area.record_event("progress")["kind"] == "progress" and area.state()["flags"] & 1


def test_the_c_float_text_is_reprs():
    if getattr(_shm._native, "float_repr", None) is None:
        assert os.environ.get("RANKTOP_REQUIRE_NATIVE") != "1", "RANKTOP_REQUIRE_NATIVE=1 but ranktop._native did not import"
        pytest.skip("the C encoder is not built here (scripts/test-python builds it)")
    import math
    import struct as structs

    float_repr = _shm._native.float_repr
    rng = random.Random(3)
    values = [0.0, -0.0, 0.1, 0.3, 1 / 3, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 5e-324, 2.2250738585072014e-308,
              1.7976931348623157e308, 1e22, 1e23, 2.0 ** 53 + 2, 2.0 ** 63, 123456789012345678.0]
    values += [2.0 ** k for k in range(-1074, 1024)]
    values += [float("%de%d" % (digit, k)) for digit in (1, 5, 9) for k in range(-323, 309)]
    values += [structs.unpack("<d", structs.pack("<Q", rng.getrandbits(64)))[0] for _ in range(200_000)]
    values += [rng.random() for _ in range(100_000)] + [float(rng.randrange(1, 10 ** 17)) for _ in range(50_000)]
    values += [rng.randrange(1, 10 ** 6) / 10 ** rng.randrange(0, 12) for _ in range(50_000)]
    wrong = [(value, float_repr(value)) for value in values + [-v for v in values]
             if math.isfinite(value) and float_repr(value) != repr(value)]
    assert wrong == [], wrong[:10]
