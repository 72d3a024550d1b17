"""The collectives' bookkeeping in this process, without torch: ordinals per group, members once,
point-to-point directions, and which pending async works the poll closes."""

import threading

import pytest

from ranktop import _collectives as co
from ranktop._state import state


class Recorder:
    def __init__(self):
        self.events = []

    def emit(self, kind, fields=None):
        self.events.append((kind, dict(fields or {})))


class FakeWork:
    def __init__(self, completed=False):
        self.completed = completed

    def is_completed(self):
        return self.completed


@pytest.fixture
def emitted():
    saved = state.emitter
    recorder = state.emitter = Recorder()
    co._pending.clear()
    yield recorder.events
    state.emitter = saved
    co._pending.clear()


def test_ordinals_count_per_group_and_members_go_with_the_first_collective_only(emitted):
    world = co.Group("world", 3, None)
    pair = co.Group("7", 2, [0, 2])
    assert [co.enter(g, "all_reduce", None, None, None, None, False) for g in (world, pair, world, pair)] == [0, 0, 1, 1]
    fields = [f for _, f in emitted]
    assert "members" not in fields[0] and "members" not in fields[2]
    assert fields[1]["members"] == [0, 2] and "members" not in fields[3]
    assert fields[1] == {"group": "7", "n": 0, "op": "all_reduce", "size": 2, "members": [0, 2]}
    co.enter(world, "broadcast", "ddp.init", "train.py:4", 64, "float32", True)
    assert emitted[-1][1] == {"group": "world", "n": 2, "op": "broadcast", "size": 3, "bytes": 64, "dtype": "float32",
                              "site": "train.py:4", "label": "ddp.init", "async": True}


def test_a_send_and_its_recv_share_a_direction_group():
    groups = co.Groups()
    sender_side = groups.direction(0, 1)  # rank 0 sends to 1
    assert groups.direction(0, 1) is sender_side and groups.direction(1, 0) is not sender_side
    assert (sender_side.name, sender_side.members, sender_side.size) == ("p2p:0>1", [0, 1], 2)


def test_the_poll_closes_completed_works_and_blocking_calls_only_on_their_thread(emitted):
    group = co.Group("world", 2, None)
    done, running, blocking = FakeWork(True), FakeWork(False), FakeWork(False)
    co.exit_when_done(done, group, 0, "all_reduce")
    co.exit_when_done(blocking, group, 1, "broadcast", blocking=True)
    co.exit_when_done(running, group, 2, "all_reduce")
    # Another thread (the emitter's writer) may close what completed, never a blocking call.
    other = threading.Thread(target=co.poll)
    other.start()
    other.join()
    assert [(k, f["n"]) for k, f in emitted] == [("collective.exit", 0)]
    # The issuing thread moved on: its blocking call returned.
    assert co.poll() is True, "the running work is still pending"
    assert [(k, f["n"]) for k, f in emitted] == [("collective.exit", 0), ("collective.exit", 1)]
    running.completed = True
    assert co.poll() is False and co._pending == []
    assert emitted[-1] == ("collective.exit", {"group": "world", "n": 2, "op": "all_reduce"})


def test_an_exit_of_another_kind_calls_its_own_function(emitted):
    closed = []
    co.exit_when_done(FakeWork(True), None, 5, closed.append)
    co.poll()
    assert closed == [5] and emitted == []


def test_describe_reads_tensors_and_ignores_everything_else():
    class Tensor:
        def __init__(self, nbytes, dtype):
            self.nbytes, self.dtype = nbytes, dtype

    assert co.describe(Tensor(16, "torch.float32")) == (16, "float32")
    assert co.describe([Tensor(8, "torch.int64"), Tensor(8, "torch.int64")]) == (16, "int64")
    assert co.describe({"an": "object"}) == (None, None) and co.describe([]) == (None, None)


def test_leaving_a_collective_leaves_the_earlier_ones_of_its_group(emitted):
    group, other = co.Group("world", 2, None), co.Group("5", 2, [0, 1])
    quirky = FakeWork(False)  # a work that never says it completed
    co.exit_when_done(quirky, group, 0, "reduce_scatter")
    co.exit_when_done(FakeWork(False), other, 0, "all_reduce")
    co.exit(group, 1, "all_reduce")  # the group's next collective returned
    assert [(k, f["group"], f["n"]) for k, f in emitted] == [("collective.exit", "world", 1),
                                                            ("collective.exit", "world", 0)]
    assert [(e[1].name, e[2]) for e in co._pending] == [("5", 0)], "other groups' ops stay open"


def test_destroying_the_group_closes_every_op_still_pending(emitted):
    # A gloo work may never say it completed; once the default group is destroyed it is over.
    world = co.Group("world", 2, None)
    pair = co.Group("7", 2, [0, 1])
    for group in (world, pair):
        n = co.enter(group, "all_reduce", "ddp.gradients", None, None, None, True)
        co.exit_when_done(FakeWork(completed=False), group, n, "all_reduce")
    assert co.poll() is True, "nothing completed yet"
    co.close_all()
    exits = [(f["group"], f["n"]) for kind, f in emitted if kind == "collective.exit"]
    assert sorted(exits) == [("7", 0), ("world", 0)]
    assert co._pending == [] and co.poll() is False


def test_the_c_wrappers_call_site_is_the_python_one_before_and_after_more_code_is_skipped():
    import os
    import sys

    from ranktop import _native, _runtime, _torch_patches

    assert _torch_patches._CollectiveCall is not None, "the C body of the collective wrapper was not built"

    def both_sites():
        return _native.caller_site(), _runtime.caller_site(sys._getframe())

    native, python = both_sites()
    assert native == python == "test_collectives_unit.py:%d" % (both_sites.__code__.co_firstlineno + 1)
    saved = state.skip_prefixes
    try:
        _runtime.skip_frames_from(os.path.dirname(__file__))
        native, python = both_sites()
        assert native == python and not python.startswith("test_collectives_unit.py")
    finally:
        state.skip_prefixes = saved
        _runtime.skip_frames_from()
