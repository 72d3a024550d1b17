"""Collectives on the training thread: which group a call is in, its ordinal, its enter and exit.

One source per collective: a torch.distributed call made from Python is reported by its Python
wrapper (`_torch_patches`); a call torch makes from C++ (DDP's gradient buckets, its construction
broadcasts) by the process group's pre/post hooks (`_pg_hooks`), which stay silent while a wrapper
is active on that thread (`context.depth`). Labels (`check_trigger`, `gather_for_metrics`,
`ddp.init`) come from `state.labels`: the outermost API that issued the call names it.

`n` is this rank's ordinal of collectives in a group. Point-to-point calls are not collectives of
their group (only two ranks take part), so they count in a group of their own per direction,
`p2p:S>R` (op `p2p`, label the API: `send`, `irecv`, ...), or the group ordinals would drift apart
between ranks; a send and the recv that takes it are the same (group, n).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Dict, List, Optional

from ._state import state

_get_ident = threading.get_ident


class _Context(threading.local):
    # Per thread: depth > 0 inside a wrapped torch.distributed call (the outermost reports it).
    depth = 0
    # A blocking call on an accelerator's tensors returns once queued: its wrapper asks the post
    # hook (want_work) for the call's Work, to exit when that completes, not when the call returns.
    want_work = False
    work: Any = None


context = _Context()

WORLD = "world"


class Group:
    """One process group as this rank reports it: its name, its next ordinal, its members."""

    __slots__ = ("name", "n", "size", "members", "announced", "ddp", "hooked", "hooks")

    def __init__(self, name: str, size: Optional[int], members: Optional[List[int]]) -> None:
        self.name = name
        self.n = 0
        self.size = size
        self.members = members
        self.announced = members is None  # members go on the first collective of a non-world group
        self.ddp = False  # a DistributedDataParallel module reduces its gradients over this group
        self.hooked = False  # the process group's pre/post hooks are registered
        self.hooks: Any = None  # (pre, post) as registered (the bench takes them off and back)


class Groups:
    """The rank's groups, keyed by their ProcessGroup object (None: the default group)."""

    def __init__(self) -> None:
        self.world: Optional[Group] = None
        self.default_pg: Any = None
        self.by_pg: Dict[Any, Group] = {}
        self.pairs: Dict[Any, Group] = {}
        self.me: Optional[int] = None  # this rank's global rank, once the default group exists
        self.on_new_group = None  # set by _pg_hooks: registers the hooks of a group first seen

    def reset_world(self, default_pg: Any, size: int) -> Group:
        world = self.world
        if world is None or world.size != size:
            world = self.world = Group(WORLD, size, None)
        self.default_pg = default_pg
        self.by_pg = {default_pg: world} if default_pg is not None else {}
        return world

    def record(self, pg: Any) -> Optional[Group]:
        """The Group of a ProcessGroup argument (None means the default group)."""
        if pg is None:
            world = self.world
            if world is None:
                world = self._world_from_torch()
            return world
        found = self.by_pg.get(pg)
        if found is not None:
            return found
        if isinstance(pg, int):  # GroupMember.NON_GROUP_MEMBER: the call does nothing here
            return None
        return self._add(pg)

    def _world_from_torch(self) -> Optional[Group]:
        try:
            from torch.distributed import distributed_c10d as c10d

            pg = c10d._get_default_group()
            world = self.reset_world(pg, int(pg.size()))
        except Exception:  # noqa: BLE001 - not initialised: the call will raise on its own
            return None
        hook = self.on_new_group
        if hook is not None:
            hook(pg, world)
        return world

    def _add(self, pg: Any) -> Optional[Group]:
        try:
            if self.world is None:
                self._world_from_torch()
                if pg in self.by_pg:
                    return self.by_pg[pg]
            from torch import distributed as dist

            members = [int(r) for r in dist.get_process_group_ranks(pg)]
            name = getattr(pg, "group_name", None)
            if not isinstance(name, str) or not name:
                name = "ranks:" + ",".join(str(r) for r in sorted(members))
            elif name == WORLD:
                name = "pg:" + name
            group = Group(name, len(members), members)
        except Exception as error:  # noqa: BLE001
            state.internal_error("collective group", error)
            return None
        self.by_pg[pg] = group
        hook = self.on_new_group
        if hook is not None:
            hook(pg, group)
        return group

    def direction(self, sender: int, receiver: int) -> Group:
        """The group of messages from one rank to another: a send and its recv share (group, n)."""
        key = (sender, receiver)
        group = self.pairs.get(key)
        if group is None:
            group = self.pairs[key] = Group("p2p:%d>%d" % key, 2, [sender, receiver])
        return group


groups = Groups()


def _label() -> Optional[str]:
    labels = state.labels
    return labels[0] if labels else None


def enter(group: Group, op: str, label: Optional[str], site: Optional[str], nbytes: Optional[int],
          dtype: Optional[str], is_async: bool) -> int:
    """Emits `collective.enter`; returns the ordinal for `exit`. Never raises."""
    if _pending:
        poll()
    n = group.n
    group.n = n + 1
    em = state.emitter
    if em is None:
        return n
    try:
        fields: Dict[str, Any] = {"group": group.name, "n": n, "op": op}
        if group.size:
            fields["size"] = group.size
        if not group.announced:
            group.announced = True
            fields["members"] = group.members
        if nbytes is not None:
            fields["bytes"] = nbytes
        if dtype:
            fields["dtype"] = dtype
        if site:
            fields["site"] = site
        if label:
            fields["label"] = label
        if is_async:
            fields["async"] = True
        em.emit("collective.enter", fields)
    except Exception as error:  # noqa: BLE001
        state.internal_error("collective", error)
    return n


def exit(group: Group, n: int, op: str) -> None:  # noqa: A001 - the event's name
    em = state.emitter
    if em is not None:
        em.emit("collective.exit", {"group": group.name, "n": n, "op": op})
    if _pending:
        _close_earlier(group, n)


def _close_earlier(group: Group, n: int) -> None:
    # A group's ops complete in the order they were issued (one stream on NCCL, one queue on
    # gloo): leaving n means the rank left every earlier one still pending, also a work that never
    # says it completed (gloo's _reduce_scatter_base), which would otherwise be polled forever.
    with _pending_lock:
        earlier = [e for e in _pending if e[1] is group and e[2] < n]
        if not earlier:
            return
        _pending[:] = [e for e in _pending if not (e[1] is group and e[2] < n)]
    em = state.emitter
    if em is not None:
        for _work, _group, m, op, _thread in earlier:
            em.emit("collective.exit", {"group": group.name, "n": m, "op": op})


# Async ops whose exit waits for their work to complete: (work, group, n, op), or (work, None, n,
# callable) for another kind of exit (an async world barrier's barrier.exit). Polled with
# `work.is_completed()` on the training thread (at the next enter, barrier or optimizer step) and on
# the emitter's writer thread every flush interval while any is pending. Not a callback on the
# work's future: that would run Python on the backend's worker thread, which must then take the
# GIL from the training thread for every op (+26 us a collective on gloo, docs/collectives.md).
_pending: List[Any] = []


def _new_pending_lock() -> Any:
    # The C lock where it is built: the C poll and exit_when_done (`_native_collective.c`) take it
    # with a C call each way, where a threading.Lock costs two method calls, on every collective.
    try:
        from ._native import EmitLock  # type: ignore[attr-defined]

        return EmitLock()
    except ImportError:
        return threading.Lock()


_pending_lock = _new_pending_lock()
MAX_PENDING = 4096


def exit_when_done(work: Any, group: Optional[Group], n: int, op: Any, blocking: bool = False) -> None:
    """An async op's exit: once its work completes (its `wait()` returned or it finished).

    `blocking`: a call the issuing thread waits in (seen by a hook, whose caller then waits in C++).
    Its work may never say it completed (some gloo works keep `is_completed()` False even after
    `wait()`), so it is done as soon as that thread does anything else we see.
    """
    with _pending_lock:
        if len(_pending) >= MAX_PENDING:
            del _pending[0]  # its exit is implied by the group's later enters
        _pending.append((work, group, n, op, _get_ident() if blocking else None))


def poll() -> bool:
    """Emits the exits of pending async ops that completed; True while some are still pending."""
    if not _pending:
        return False
    me = _get_ident()
    with _pending_lock:
        done = []
        left = []
        for entry in _pending:
            if entry[4] is not None:
                finished = entry[4] == me
            else:
                try:
                    finished = entry[0].is_completed()
                except Exception:  # noqa: BLE001 - a Work that cannot say: do not hold it
                    finished = True
            (done if finished else left).append(entry)
        if done:
            _pending[:] = left
    # Emitted outside the lock: an exit closes the earlier ops of its group, which takes it again.
    for _work, group, n, op, _thread in done:
        if group is None:
            op(n)
        else:
            exit(group, n, op)
    return bool(_pending)


def close_all() -> None:
    """The default group was destroyed: every op this rank issued is over (DDP waited for its
    buckets before the last step; a gloo work may still not say it completed), so each pending op
    gets its exit before the rank's `bye`."""
    with _pending_lock:
        left = list(_pending)
        _pending[:] = []
    for _work, group, n, op, _thread in left:
        if group is None:
            op(n)
        else:
            exit(group, n, op)


# RANKTOP_COMPLETION_EXITS=1: treat CPU tensors like an accelerator's (tests of this path on gloo).
FORCE_COMPLETION_EXITS = os.environ.get("RANKTOP_COMPLETION_EXITS") == "1"


def on_device(data: Any) -> bool:
    """True when the call's tensors live on an accelerator, whose collectives complete after the
    call returns (NCCL queues them on a stream)."""
    if FORCE_COMPLETION_EXITS:
        return True
    try:
        tensor = data[0] if isinstance(data, (list, tuple)) else data
        return not tensor.is_cpu
    except Exception:  # noqa: BLE001
        return False


_DTYPES: Dict[Any, str] = {}


def describe(data: Any):
    """(bytes, dtype) of a tensor or a list of tensors; (None, None) for anything else."""
    try:
        if isinstance(data, (list, tuple)):
            if not data:
                return None, None
            total = 0
            for tensor in data:
                total += tensor.nbytes
            dtype = data[0].dtype
        else:
            dtype = data.dtype
            total = data.nbytes
        name = _DTYPES.get(dtype)
        if name is None:
            name = str(dtype).replace("torch.", "")
            _DTYPES[dtype] = name
        return total, name
    except Exception:  # noqa: BLE001 - not tensors (objects, None)
        return None, None
