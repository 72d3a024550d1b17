"""Patches on Accelerate's classes (never instances: PartialState shares its state across them).

Each wrapper calls the original unchanged and only adds events around it; the adapter's own
failures never reach the caller. Methods a version of Accelerate lacks are left alone, so
everything from 0.23 to the current release works.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys

from . import _collectives
from . import _runtime as rt
from . import _wiring
from ._state import state

ORIGINAL = "__ranktop_original__"


def _replace(cls, attribute: str, make_wrapper) -> bool:
    """Wraps `cls.attribute` when the class itself defines it and it is not wrapped yet."""
    original = cls.__dict__.get(attribute)
    if original is None or not callable(original) or hasattr(original, ORIGINAL):
        return False
    wrapper = make_wrapper(original)
    functools.update_wrapper(wrapper, original)
    setattr(wrapper, ORIGINAL, original)
    setattr(cls, attribute, wrapper)
    return True


def _skip_library_frames(module) -> None:
    # Sites point at the user's code, never inside accelerate or torch.
    try:
        package = sys.modules.get(module.__name__.split(".")[0])
        directories = [os.path.dirname(os.path.abspath(package.__file__))]
        torch = sys.modules.get("torch")
        if torch is not None and getattr(torch, "__file__", None):
            directories.append(os.path.dirname(os.path.abspath(torch.__file__)))
        rt.skip_frames_from(*directories)
    except Exception as error:  # noqa: BLE001
        state.internal_error("instrument", error)


# -- accelerate.state ----------------------------------------------------------------------------


def patch_state(module) -> None:
    state_class = getattr(module, "PartialState", None)
    if state_class is None:
        return
    _skip_library_frames(module)
    _replace(state_class, "__init__", _wrap_init)
    _replace(state_class, "wait_for_everyone", _wrap_barrier)
    _replace(state_class, "main_process_first", lambda original: _wrap_phase(original, "main_first"))
    _replace(state_class, "local_main_process_first", lambda original: _wrap_phase(original, "local_main_first"))
    try:
        if state_class._shared_state:  # instrumented after the user created the state
            _wiring.state_ready(state_class())
    except Exception as error:  # noqa: BLE001
        state.internal_error("instrument", error)


def _wrap_init(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if state.emitter is None:
            _wiring.state_ready(self)

    return __init__


def _wrap_barrier(original):
    context = _collectives.context

    def wait_for_everyone(self, *args, **kwargs):
        n = rt.barrier_enter(sys._getframe(1))
        # torch.distributed.barrier inside is this barrier, not a second one.
        context.depth += 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            context.depth -= 1
        # No exit when the barrier raised: the rank never saw everyone arrive.
        rt.barrier_exit(n)
        return result

    return wait_for_everyone


def _wrap_label(original, label: str):
    """The collectives inside carry `label` (the outermost labelled API wins); no event of its own."""
    labels = state.labels

    def labelled(*args, **kwargs):
        labels.append(label)
        try:
            return original(*args, **kwargs)
        finally:
            labels.pop()

    return labelled


def _wrap_phase(original, mode: str):
    @contextlib.contextmanager
    def phase(self, *args, **kwargs):
        # Frame 0 is this generator, 1 contextlib's __enter__, 2 the caller: caller_site skips
        # contextlib and library frames anyway.
        name = rt.phase_enter(self, mode, sys._getframe(1))
        try:
            with original(self, *args, **kwargs):
                yield
        finally:
            rt.phase_exit(name)

    return phase


# -- accelerate.accelerator ----------------------------------------------------------------------


def patch_accelerator(module) -> None:
    accelerator_class = getattr(module, "Accelerator", None)
    if accelerator_class is None:
        return
    _skip_library_frames(module)
    original_set = accelerator_class.__dict__.get("set_trigger")
    _replace(accelerator_class, "set_trigger", _wrap_set_trigger)
    if original_set is not None:
        _replace(accelerator_class, "check_trigger", lambda original: _wrap_check_trigger(original, original_set))
    _replace(accelerator_class, "log", _wrap_log)
    for name in ("gather", "gather_for_metrics", "reduce", "pad_across_processes"):
        _replace(accelerator_class, name, lambda original, name=name: _wrap_label(original, name))


def _wrap_set_trigger(original):
    def set_trigger(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        rt.trigger_set_by_code(sys._getframe(1))
        return result

    return set_trigger


def _wrap_check_trigger(original, original_set_trigger):
    pending = state.pending_injections
    labels = state.labels

    def check_trigger(self, *args, **kwargs):
        if pending:
            rt.apply_injections(self, original_set_trigger, pending)
        labels.append("check_trigger")  # its all-reduce is a collective labelled check_trigger
        try:
            fired = original(self, *args, **kwargs)
        finally:
            labels.pop()
        rt.trigger_checked(fired)
        return fired

    return check_trigger


def _wrap_log(original):
    def log(self, values, *args, **kwargs):
        step = kwargs.get("step", args[0] if args else None)
        rt.metrics_logged(values, step)
        return original(self, values, *args, **kwargs)

    return log


# -- accelerate.optimizer ------------------------------------------------------------------------


def patch_optimizer(module) -> None:
    optimizer_class = getattr(module, "AcceleratedOptimizer", None)
    if optimizer_class is not None:
        _replace(optimizer_class, "step", _wrap_step)


def _wrap_step(original):
    def step(self, *args, **kwargs):
        # torch's own optimizer step hook stays quiet inside: this wrapper reports the step.
        outer = state.accelerated_step
        state.accelerated_step = True
        try:
            result = original(self, *args, **kwargs)
        finally:
            state.accelerated_step = outer
        rt.optimizer_stepped(self)
        return result

    return step


# -- accelerate.utils.operations: the functions behind Accelerator.gather & co, also called directly --


def patch_operations(module) -> None:
    for name in ("gather", "gather_object", "reduce", "broadcast", "broadcast_object_list", "pad_across_processes"):
        _replace(module, name, lambda original, name=name: _wrap_label(original, name))


PATCHES = {
    "accelerate.utils.operations": patch_operations,
    "accelerate.state": patch_state,
    "accelerate.accelerator": patch_accelerator,
    "accelerate.optimizer": patch_optimizer,
}


def patch_loaded_modules() -> None:
    """Patches whichever of Accelerate's modules are already imported."""
    for name, patch in PATCHES.items():
        module = sys.modules.get(name)
        if module is not None:
            try:
                patch(module)
            except Exception as error:  # noqa: BLE001
                state.internal_error("instrument", error)
