"""Patches on torch's data-parallel wrappers: DDP (its construction collectives labelled `ddp.init`,
its forward's `ddp.forward`, its process group's hooks on before it is built; without hooks, a comm
hook that labels its gradient buckets `ddp.gradients`) and FSDP2 (`fsdp.all_gather`,
`fsdp.reduce_scatter`). Classes and module functions only; no module, Work or tensor is replaced.
"""

from __future__ import annotations

from typing import Callable, Dict

from . import _collectives as co
from . import _pg_hooks
from ._patches import _replace, _wrap_label
from ._state import state
from ._torch_patches import _Params


# -- torch.nn.parallel.distributed -----------------------------------------------------------------


def patch_ddp(module) -> None:
    ddp = getattr(module, "DistributedDataParallel", None)
    if ddp is None:
        return
    _replace(ddp, "__init__", _wrap_ddp_init)
    _replace(ddp, "forward", _wrap_ddp_forward)
    _replace(ddp, "register_comm_hook", _wrap_register_comm_hook)
    _replace(ddp, "_register_builtin_comm_hook", _wrap_register_builtin)


def _wrap_ddp_init(original):
    params = _Params(original)

    def __init__(self, *args, **kwargs):
        group = None
        if state.emitter is not None:
            try:
                # Its group's hooks must be on before the construction broadcasts.
                group = co.groups.record(params.get((self,) + args, kwargs, "process_group"))
            except Exception as error:  # noqa: BLE001
                state.internal_error("DistributedDataParallel", error)
        labels = state.labels
        labels.append("ddp.init")
        try:
            original(self, *args, **kwargs)
        finally:
            labels.pop()
        if group is not None:
            group.ddp = True
        return None

    return __init__


def _wrap_ddp_forward(original):
    labels = state.labels

    def forward(self, *args, **kwargs):
        if state.emitter is not None and not group_hooks_on(self):
            _comm_hook_fallback(self)
        labels.append("ddp.forward")
        try:
            return original(self, *args, **kwargs)
        finally:
            labels.pop()

    return forward


def group_hooks_on(ddp_module) -> bool:
    group = co.groups.record(getattr(ddp_module, "process_group", None))
    return group is None or group.hooked


def _comm_hook_fallback(ddp_module) -> None:
    # Without process-group hooks DDP's bucket all-reduces are invisible unless a comm hook issues
    # them from Python: the default all-reduce, labelled, unless the user registered a hook.
    try:
        if ddp_module.__dict__.get("_ranktop_comm_hook"):
            return
        ddp_module.__dict__["_ranktop_comm_hook"] = True
        if getattr(ddp_module, "_comm_hooks", None):
            return
        _pg_hooks.install_default_comm_hook(ddp_module)
    except Exception as error:  # noqa: BLE001
        state.internal_error("DDP comm hook", error)


def _wrap_register_comm_hook(original):
    def register_comm_hook(self, hook_state, hook):
        try:
            if not group_hooks_on(self):
                self.__dict__["_ranktop_comm_hook"] = True
                hook = _pg_hooks.label_comm_hook(hook)
        except Exception as error:  # noqa: BLE001
            state.internal_error("DDP comm hook", error)
        return original(self, hook_state, hook)

    return register_comm_hook


def _wrap_register_builtin(original):
    def _register_builtin_comm_hook(self, *args, **kwargs):
        self.__dict__["_ranktop_comm_hook"] = True  # a C++ hook: nothing to wrap
        return original(self, *args, **kwargs)

    return _register_builtin_comm_hook


# -- FSDP2 (torch.distributed.fsdp.fully_shard): its collectives are Python calls, labelled here -----


def patch_fsdp_collectives(module) -> None:
    _replace(module, "foreach_all_gather", lambda original: _wrap_label(original, "fsdp.all_gather"))
    _replace(module, "foreach_reduce", lambda original: _wrap_label(original, "fsdp.reduce_scatter"))


PATCHES: Dict[str, Callable] = {
    "torch.nn.parallel.distributed": patch_ddp,
    "torch.distributed.fsdp._fully_shard._fsdp_collectives": patch_fsdp_collectives,
}
