"""What Python patching cannot see: collectives torch issues from C++ (DDP's gradient buckets and
construction broadcasts), reported through the process group's pre/post hooks where torch has
them (`ProcessGroup.register_pre_hook` / `register_post_hook`, torch 2.15), and through a DDP comm
hook wrapper where it does not.

A hook reports only calls no Python wrapper is reporting on this thread (`context.depth == 0`), so
every collective has one source. The pre hook emits `collective.enter` when the call is issued; the
post hook gets the call's `work` and hangs the exit on its future, so an async op (DDP's buckets
are all async) is open until it completes. The `Work` is never wrapped or replaced.

`RANKTOP_PG_HOOKS=0` turns the hooks off (the fallback path, for tests and measurements).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict

from . import _collectives as co
from . import _runtime as rt
from ._state import state

HOOK_ID = 0x52414E4B  # "RANK": any id of ours, unique among the hooks of a group
# Pre hooks whose post hook never came (the call raised) are forgotten past this many.
MAX_UNANSWERED = 4096

# HookOpName member name -> the protocol's op. SEND/RECV (pair groups), SPLIT, NEW_WINDOW: not reported.
OPS = {
    "ALLREDUCE": "all_reduce", "ALLREDUCE_COALESCED": "all_reduce",
    "ALLGATHER": "all_gather", "ALLGATHER_BASE": "all_gather", "ALLGATHER_COALESCED": "all_gather",
    "ALLGATHER_INTO_TENSOR_COALESCED": "all_gather",
    "REDUCE_SCATTER": "reduce_scatter", "REDUCE_SCATTER_BASE": "reduce_scatter",
    "REDUCE_SCATTER_TENSOR_COALESCED": "reduce_scatter",
    "ALLTOALL": "all_to_all", "ALLTOALL_BASE": "all_to_all",
    "BROADCAST": "broadcast", "REDUCE": "reduce", "GATHER": "gather", "SCATTER": "scatter",
    "BARRIER": "barrier",
}

# HookOpName member's value -> the protocol's op. By value, not by member: torch hands each hook a new
# member object, whose hash and == are each a pybind call, where `.value` is one (issue 11).
_ops_by_value: Dict[int, str] = {}
_graph_task_id = None


def available() -> bool:
    """True when this torch has process-group hooks and they are not turned off."""
    if os.environ.get("RANKTOP_PG_HOOKS", "1") == "0":
        return False
    try:
        from torch._C import _distributed_c10d as c10d_c

        group_class = c10d_c.ProcessGroup
        return (hasattr(group_class, "register_pre_hook") and hasattr(group_class, "register_post_hook")
                and hasattr(c10d_c, "HookOpName"))
    except Exception:  # noqa: BLE001
        return False


def _op_table() -> Dict[int, str]:
    global _graph_task_id
    if not _ops_by_value:
        from torch._C import _distributed_c10d as c10d_c

        for name, op in OPS.items():
            member = getattr(c10d_c.HookOpName, name, None)
            if member is not None:
                _ops_by_value[member.value] = op
        import torch

        _graph_task_id = getattr(torch._C, "_current_graph_task_id", None)
    return _ops_by_value


def _in_backward() -> bool:
    # Inside an autograd backward pass (where DDP reduces its gradient buckets)?
    if _graph_task_id is None:
        return True  # cannot tell: DDP's groups' async all-reduces are its buckets anyway
    try:
        return _graph_task_id() != -1
    except Exception:  # noqa: BLE001
        return True


def _native_hook_type():
    """`ranktop._native.ProcessGroupHook` (the hooks' bodies in C, `_native_pg_hooks.c`), or None:
    it exists where `_torch_patches` set up the C collective wrapper, and follows its choice
    (RANKTOP_PYTHON_WRAPPER=1 selects the Python bodies below for both)."""
    from . import _torch_patches  # loaded by now: it is what registers the hooks

    if _torch_patches._CollectiveCall is None:
        return None
    return getattr(_torch_patches._native, "ProcessGroupHook", None)


def install(pg: Any, group: "co.Group") -> bool:
    """Registers this rank's pre/post hooks on one process group (once). False without hooks."""
    if group.hooked or not available():
        return False
    group.hooked = True
    try:
        ops = _op_table()
        pending: Dict[int, Any] = {}
        hook_type = _native_hook_type()
        if hook_type is not None:
            pre, post = (hook_type(group, ops, pending, MAX_UNANSWERED, _graph_task_id, is_post) for is_post in (False, True))
            pg.register_pre_hook(HOOK_ID, pre)
            pg.register_post_hook(HOOK_ID, post)
            group.hooks = (pre, post)
            return True
        context = co.context
        labels = state.labels

        def pre(args, group=group):
            if context.depth:
                return  # a Python wrapper reports this call
            try:
                op = ops.get(args.name.value)
                if op is None:
                    return
                is_async = bool(args.async_op)
                if labels:
                    label = labels[0]
                elif group.ddp and op == "all_reduce" and is_async and _in_backward():
                    label = "ddp.gradients"
                else:
                    label = None
                nbytes, dtype = co.describe(args.input_tensors)
                site = rt.caller_site(sys._getframe(1))
                n = co.enter(group, op, label, site, nbytes, dtype, is_async)
                if len(pending) > MAX_UNANSWERED:
                    pending.clear()
                pending[args.op_id] = (n, op, not is_async)
            except Exception as error:  # noqa: BLE001
                state.internal_error("process group hook", error)

        def post(args, group=group):
            if context.depth:
                if context.want_work:  # a wrapper exits this call when its work completes
                    context.work = args.work
                return
            if not pending:
                return
            try:
                entry = pending.pop(args.op_id, None)
                if entry is not None:
                    co.exit_when_done(args.work, group, entry[0], entry[1], entry[2])
            except Exception as error:  # noqa: BLE001
                state.internal_error("process group hook", error)

        pg.register_pre_hook(HOOK_ID, pre)
        pg.register_post_hook(HOOK_ID, post)
        group.hooks = (pre, post)
        return True
    except Exception as error:  # noqa: BLE001
        state.internal_error("process group hooks", error)
        return False


def on_new_group(pg: Any, group: "co.Group") -> None:
    install(pg, group)


co.groups.on_new_group = on_new_group


# -- without process-group hooks: DDP's gradients through its comm hook -------------------------


def label_comm_hook(hook):
    """A DDP comm hook that labels the collectives of `hook` (the user's, or the default all-reduce
    hook) `ddp.gradients`: they are Python calls, which the wrappers report."""

    def ranktop_comm_hook(hook_state, bucket):
        labels = state.labels
        labels.append("ddp.gradients")
        try:
            return hook(hook_state, bucket)
        finally:
            labels.pop()

    ranktop_comm_hook.__wrapped__ = hook  # type: ignore[attr-defined]
    return ranktop_comm_hook


def install_default_comm_hook(ddp_module: Any) -> None:
    """The default all-reduce, as a comm hook that labels its buckets (no user hook registered)."""
    try:
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

        register = getattr(type(ddp_module), "register_comm_hook")
        register = getattr(register, "__ranktop_original__", register)
        register(ddp_module, getattr(ddp_module, "process_group", None), label_comm_hook(default_hooks.allreduce_hook))
    except Exception as error:  # noqa: BLE001
        state.internal_error("DDP comm hook", error)
