"""Patches on torch.distributed itself, with or without Accelerate: `init_process_group` says hello,
`destroy_process_group` says bye, every collective and point-to-point function reports
`collective.enter` / `collective.exit` (world barriers: `barrier.enter` / `barrier.exit`), optimizer
steps report progress. DDP and FSDP2 are `_parallel_patches`'.

The module functions of `torch.distributed.distributed_c10d` are replaced right after that module
ran (zero-code: before `torch.distributed` copies them with `from .distributed_c10d import *`), and
`torch.distributed`'s copies too when it was imported first. Each wrapper calls the original
unchanged: the returned `Work` is the original object. A call made inside another wrapped call
(all_gather_object's all_gathers) is reported once, by the outermost.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any, Callable, Dict, Optional

from . import _collectives as co
from . import _exit
from . import _pg_hooks
from . import _runtime as rt
from . import _wiring
from ._patches import _replace
from ._state import state

_getframe = sys._getframe

# The collective wrapper's body in C (`_native_collective.c`), when built for this Python (3.11+);
# the Python body below otherwise, or with RANKTOP_PYTHON_WRAPPER=1 (to compare the two).
try:
    if os.environ.get("RANKTOP_PYTHON_WRAPPER") == "1":
        raise ImportError
    from . import _native  # type: ignore[attr-defined]

    _native.setup_collectives(co.context, state, co.groups, co)
    _CollectiveCall = _native.CollectiveCall
except (ImportError, AttributeError):
    _CollectiveCall = None

# function -> (op, the parameter whose tensors give bytes and dtype, or None)
COLLECTIVES = {
    "all_reduce": ("all_reduce", "tensor"),
    "all_gather": ("all_gather", "tensor"),
    "all_gather_into_tensor": ("all_gather", "input_tensor"),
    "all_gather_single": ("all_gather", "input_tensor"),
    "_all_gather_base": ("all_gather", "input_tensor"),
    "reduce_scatter": ("reduce_scatter", "input_list"),
    "reduce_scatter_tensor": ("reduce_scatter", "input"),
    "reduce_scatter_single": ("reduce_scatter", "input"),
    "_reduce_scatter_base": ("reduce_scatter", "input"),
    "broadcast": ("broadcast", "tensor"),
    "reduce": ("reduce", "tensor"),
    "gather": ("gather", "tensor"),
    "gather_single": ("gather", "tensor"),
    "gather_into_tensor": ("gather", "tensor"),
    "scatter": ("scatter", "tensor"),
    "all_to_all": ("all_to_all", "input_tensor_list"),
    "all_to_all_single": ("all_to_all", "input"),
    "all_reduce_coalesced": ("all_reduce", "tensors"),
    "all_gather_coalesced": ("all_gather", "input_tensor_list"),
    "broadcast_object_list": ("broadcast_object_list", None),
    "all_gather_object": ("all_gather_object", None),
    "gather_object": ("gather_object", None),
    "scatter_object_list": ("scatter_object_list", None),
}
# function -> (the peer parameter, the group-relative peer parameter, sends?, always async?)
POINT_TO_POINT = {
    "send": ("dst", "group_dst", True, False),
    "recv": ("src", "group_src", False, False),
    "isend": ("dst", "group_dst", True, True),
    "irecv": ("src", "group_src", False, True),
    "send_object_list": ("dst", "group_dst", True, False),
    "recv_object_list": ("src", "group_src", False, False),
}


class _Params:
    """Where a function's arguments are, by name: positions from its signature, found once."""

    def __init__(self, function: Callable) -> None:
        try:
            names = list(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            names = []
        self.index = {name: i for i, name in enumerate(names)}

    def get(self, args, kwargs, name: str, default: Any = None) -> Any:
        if name in kwargs:
            return kwargs[name]
        i = self.index.get(name)
        if i is not None and i < len(args):
            return args[i]
        return default


def _nested(original, args, kwargs):
    context = co.context
    context.depth += 1
    try:
        return original(*args, **kwargs)
    finally:
        context.depth -= 1


def _wrap_collective(original, api: str, op: str, data: Optional[str], native: bool = True):
    params = _Params(original)
    if native and _CollectiveCall is not None:
        index = params.index
        call = _CollectiveCall(original, api, op, api if api != op else None, data, index.get("group", -1),
                               index.get("async_op", -1), index.get(data, -1) if data else -1)

        def collective(*args, **kwargs):
            return call(args, kwargs)

        return collective
    context = co.context
    groups = co.groups
    labels = state.labels
    api_label = api if api != op else None
    # Positions of the arguments read on every call, found once (the hot path does no method calls).
    group_at = params.index.get("group", 1 << 30)
    async_at = params.index.get("async_op", 1 << 30)
    data_at = params.index.get(data, 1 << 30) if data else None
    record = groups.record
    describe = co.describe
    enter = co.enter
    site_of = rt.caller_site
    on_device = co.on_device

    def collective(*args, **kwargs):
        if context.depth or state.emitter is None:
            return _nested(original, args, kwargs)
        try:
            count = len(args)
            if kwargs:
                pg = kwargs["group"] if "group" in kwargs else (args[group_at] if count > group_at else None)
                is_async = kwargs["async_op"] if "async_op" in kwargs else (args[async_at] if count > async_at else False)
            else:
                pg = args[group_at] if count > group_at else None
                is_async = args[async_at] if count > async_at else False
            group = record(pg)
            track = False
            if group is not None:
                is_async = bool(is_async)
                if data_at is None:
                    nbytes = dtype = None
                else:
                    tensors = args[data_at] if count > data_at else kwargs.get(data)
                    nbytes, dtype = describe(tensors)
                    # On an accelerator a blocking call returns once queued: exit at completion.
                    track = not is_async and group.hooked and on_device(tensors)
                n = enter(group, op, labels[0] if labels else api_label, site_of(_getframe(1)), nbytes, dtype, is_async)
        except Exception as error:  # noqa: BLE001
            state.internal_error(api, error)
            group = None
            track = False
        if track:
            context.want_work = True
            context.work = None
        context.depth = 1
        try:
            result = original(*args, **kwargs)
        finally:
            context.depth = 0
            if track:
                context.want_work = False
        # No exit when the call raised: the rank never saw the others arrive.
        if group is not None:
            try:
                if track and context.work is not None:
                    work, context.work = context.work, None
                    co.exit_when_done(work, group, n, op)
                elif not is_async:
                    co.exit(group, n, op)
                elif result is not None:
                    co.exit_when_done(result, group, n, op)
            except Exception as error:  # noqa: BLE001
                state.internal_error(api, error)
        return result

    return collective


def _wrap_point_to_point(original, api: str, peer_name: str, group_peer_name: str, sends: bool, always_async: bool):
    params = _Params(original)
    context = co.context
    groups = co.groups
    labels = state.labels

    def point_to_point(*args, **kwargs):
        if context.depth or state.emitter is None:
            return _nested(original, args, kwargs)
        group = None
        try:
            pg = params.get(args, kwargs, "group")
            peer = params.get(args, kwargs, peer_name)
            if peer is None:
                relative = params.get(args, kwargs, group_peer_name)
                if relative is not None:
                    from torch import distributed as dist

                    peer = dist.get_global_rank(pg, relative) if pg is not None else relative
            if peer is not None and groups.me is not None:  # recv from any source: not reported
                peer = int(peer)
                group = groups.direction(groups.me, peer) if sends else groups.direction(peer, groups.me)
                nbytes, dtype = co.describe(params.get(args, kwargs, "tensor"))
                n = co.enter(group, "p2p", labels[0] if labels else api, rt.caller_site(_getframe(1)),
                             nbytes, dtype, always_async)
        except Exception as error:  # noqa: BLE001
            state.internal_error(api, error)
            group = None
        context.depth = 1
        try:
            result = original(*args, **kwargs)
        finally:
            context.depth = 0
        if group is not None:
            try:
                if not always_async:
                    co.exit(group, n, "p2p")
                elif result is not None:
                    co.exit_when_done(result, group, n, "p2p")
            except Exception as error:  # noqa: BLE001
                state.internal_error(api, error)
        return result

    return point_to_point


def _wrap_batch_p2p(original):
    context = co.context
    groups = co.groups
    labels = state.labels

    def batch_isend_irecv(*args, **kwargs):
        if context.depth or state.emitter is None:
            return _nested(original, args, kwargs)
        entered = []
        try:
            site = rt.caller_site(_getframe(1))
            me = groups.me
            for p2p in (args[0] if args else kwargs.get("p2p_op_list")) or ():
                peer = getattr(p2p, "peer", None)
                if peer is None or me is None:
                    continue
                sends = getattr(getattr(p2p, "op", None), "__name__", "") == "isend"
                group = groups.direction(me, int(peer)) if sends else groups.direction(int(peer), me)
                nbytes, dtype = co.describe(getattr(p2p, "tensor", None))
                entered.append((group, co.enter(group, "p2p", labels[0] if labels else "batch_isend_irecv",
                                                site, nbytes, dtype, True)))
        except Exception as error:  # noqa: BLE001
            state.internal_error("batch_isend_irecv", error)
        context.depth = 1
        try:
            works = original(*args, **kwargs)
        finally:
            context.depth = 0
        if entered:
            try:
                _exit_when_all_done(works, entered)
            except Exception as error:  # noqa: BLE001
                state.internal_error("batch_isend_irecv", error)
        return works

    return batch_isend_irecv


def _exit_when_all_done(works, entered) -> None:
    works = [w for w in (works or ()) if w is not None]
    if not works:
        for group, n in entered:
            co.exit(group, n, "p2p")
        return
    # Each message's exit once the batch's last work completed (the batch may be one coalesced work).
    last = works[-1]
    for group, n in entered:
        co.exit_when_done(_AllOf(works) if len(works) > 1 else last, group, n, "p2p")


class _AllOf:
    __slots__ = ("works",)

    def __init__(self, works) -> None:
        self.works = works

    def is_completed(self) -> bool:
        return all(work.is_completed() for work in self.works)


def _wrap_barrier(original, monitored: bool):
    params = _Params(original)
    context = co.context
    groups = co.groups
    labels = state.labels

    def barrier(*args, **kwargs):
        # Inside Accelerate's wait_for_everyone (depth > 0): that barrier is the one reported.
        if context.depth or state.emitter is None:
            return _nested(original, args, kwargs)
        group = world_n = None
        is_async = False
        try:
            group = groups.record(params.get(args, kwargs, "group"))
            is_async = not monitored and bool(params.get(args, kwargs, "async_op", False))
            if group is not None and group is groups.world:
                world_n = rt.barrier_enter(_getframe(1))
            elif group is not None:
                n = co.enter(group, "barrier", labels[0] if labels else None, rt.caller_site(_getframe(1)),
                             None, None, is_async)
        except Exception as error:  # noqa: BLE001
            state.internal_error("barrier", error)
            group = None
        context.depth = 1
        try:
            result = original(*args, **kwargs)
        finally:
            context.depth = 0
        if group is not None:
            try:
                if world_n is not None:
                    if is_async and result is not None:
                        _barrier_exit_when_done(result, world_n)
                    else:
                        rt.barrier_exit(world_n)
                elif is_async and result is not None:
                    co.exit_when_done(result, group, n, "barrier")
                else:
                    co.exit(group, n, "barrier")
            except Exception as error:  # noqa: BLE001
                state.internal_error("barrier", error)
        return result

    return barrier


def _barrier_exit_when_done(work, n: int) -> None:
    # An async world barrier: barrier.exit once its work completed (polled like async collectives).
    co.exit_when_done(work, None, n, rt.barrier_exit)


# -- the process group's life ----------------------------------------------------------------------


def _wrap_init(original):
    def init_process_group(*args, **kwargs):
        result = original(*args, **kwargs)
        process_group_ready()
        return result

    return init_process_group


def process_group_ready() -> None:
    """The default group exists: hooks on it, progress from optimizer steps, and hello."""
    try:
        from torch import distributed as dist
        from torch.distributed import distributed_c10d as c10d

        pg = c10d._get_default_group()
        world = co.groups.reset_world(pg, int(dist.get_world_size()))
        co.groups.me = int(dist.get_rank())
        _pg_hooks.install(pg, world)
        install_step_hook()
        if state.emitter is None and state.enabled():
            local_rank = _env_int("LOCAL_RANK", co.groups.me)
            _wiring.start(co.groups.me, world.size or 1, local_rank, _env_int("LOCAL_WORLD_SIZE", None))
    except Exception as error:  # noqa: BLE001
        state.internal_error("init_process_group", error)


def _env_int(name: str, default):
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return default


def _wrap_destroy(original):
    params = _Params(original)

    def destroy_process_group(*args, **kwargs):
        try:
            pg = params.get(args, kwargs, "group")
            whole = pg is None or pg is co.groups.default_pg
        except Exception:  # noqa: BLE001
            whole = False
        result = original(*args, **kwargs)
        if whole:
            _exit.say_bye()
        return result

    return destroy_process_group


def _wrap_new_group(original):
    def new_group(*args, **kwargs):
        pg = original(*args, **kwargs)
        try:
            if state.emitter is not None and pg is not None and not isinstance(pg, int):
                co.groups.record(pg)  # hooks on it before its first collective
        except Exception as error:  # noqa: BLE001
            state.internal_error("new_group", error)
        return pg

    return new_group


# -- progress from optimizer steps -----------------------------------------------------------------


step_hook_handle = None  # torch's handle (the bench removes it for its bare segments)


def install_step_hook() -> None:
    if state.step_hook:
        return
    state.step_hook = True
    try:
        import torch.optim.optimizer as optimizer_module

        register = getattr(optimizer_module, "register_optimizer_step_post_hook", None)
        if register is not None:
            global step_hook_handle
            step_hook_handle = register(_optimizer_stepped)
    except Exception as error:  # noqa: BLE001
        state.internal_error("optimizer hook", error)


def _optimizer_stepped(optimizer, args, kwargs) -> None:
    if not state.accelerated_step:  # Accelerate's optimizer wrapper reports its own steps
        rt.optimizer_stepped(optimizer)


# -- torch.distributed.distributed_c10d ------------------------------------------------------------


def patch_c10d(module) -> None:
    try:
        torch = sys.modules.get("torch")
        if torch is not None and getattr(torch, "__file__", None):
            rt.skip_frames_from(os.path.dirname(os.path.abspath(torch.__file__)))
    except Exception as error:  # noqa: BLE001
        state.internal_error("instrument", error)
    for name, (op, data) in COLLECTIVES.items():
        _replace_function(module, name, lambda original, name=name, op=op, data=data: _wrap_collective(original, name, op, data))
    for name, spec in POINT_TO_POINT.items():
        _replace_function(module, name, lambda original, name=name, spec=spec: _wrap_point_to_point(original, name, *spec))
    _replace_function(module, "batch_isend_irecv", _wrap_batch_p2p)
    _replace_function(module, "barrier", lambda original: _wrap_barrier(original, False))
    _replace_function(module, "monitored_barrier", lambda original: _wrap_barrier(original, True))
    _replace_function(module, "init_process_group", _wrap_init)
    _replace_function(module, "destroy_process_group", _wrap_destroy)
    for name in ("new_group", "split_group"):
        _replace_function(module, name, _wrap_new_group)
    try:
        if state.emitter is None and module.is_initialized():  # instrumented after init
            process_group_ready()
    except Exception as error:  # noqa: BLE001
        state.internal_error("instrument", error)


def _replace_function(module, name: str, make_wrapper) -> None:
    """Replaces module.name, and torch.distributed's copy of it when that is the same function."""
    original = module.__dict__.get(name)
    if not _replace(module, name, make_wrapper):
        return
    wrapper = module.__dict__[name]
    package = sys.modules.get("torch.distributed")
    if package is not None and package is not module and package.__dict__.get(name) is original:
        setattr(package, name, wrapper)


PATCHES: Dict[str, Callable] = {
    "torch.distributed.distributed_c10d": patch_c10d,
}
