"""What the patches and the public API record on the training thread: barriers, phases, triggers,
progress. The state they update is `_state.state`; starting the emitter is `_wiring`'s.

Every entry point swallows its own errors: they are counted and the first one is reported as a
`log` event, and user code never sees them.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import Any, Dict, Optional

from . import _collectives, _wiring
from ._state import state

_get_ident = threading.get_ident


def internal_error(where: str, error: BaseException) -> None:
    state.internal_error(where, error)


def skip_frames_from(*directories: str) -> None:
    """Frames under these directories are library code, never a barrier's site."""
    extra = tuple(d if d.endswith(os.sep) else d + os.sep for d in directories if d)
    state.skip_prefixes = tuple(dict.fromkeys(state.skip_prefixes + extra))
    _library_code.clear()
    _sites.clear()


# -- where a call came from -----------------------------------------------------------------------

# Per code object: is it library code (skipped)? Per (code, line): the site text. Both bounded; a
# barrier in a loop then costs a few dict lookups instead of string tests on every frame. Keyed by
# id(code), not the code object: CPython does not cache a code object's hash, and hashing the code
# of a long training script costs microseconds on every call. The code object is kept in the
# entry, so its id cannot be reused while the entry lives; both caches are cleared together.
_library_code: Dict[int, Any] = {}
_sites: Dict[Any, str] = {}
_CACHE_LIMIT = 4096


def caller_site(frame) -> Optional[str]:
    """`file.py:88` of the first frame outside ranktop, Accelerate, torch and contextlib."""
    library = _library_code
    while frame is not None:
        code = frame.f_code
        entry = library.get(id(code))
        if entry is None or entry[0] is not code:
            filename = code.co_filename
            skip = filename.startswith(state.skip_prefixes) or filename.endswith("contextlib.py")
            if len(library) >= _CACHE_LIMIT:
                library.clear()
                _sites.clear()
            library[id(code)] = (code, skip)
        else:
            skip = entry[1]
        if not skip:
            # The call instruction's offset, not f_lineno (which CPython computes from it): one
            # site per call instruction, the same text for every call on that line.
            key = (id(code), frame.f_lasti)
            site = _sites.get(key)
            if site is None:
                site = "%s:%d" % (os.path.basename(code.co_filename), frame.f_lineno)
                if len(_sites) >= _CACHE_LIMIT:
                    _sites.clear()
                _sites[key] = site
            return site
        frame = frame.f_back
    return None


# -- barriers and phases ---------------------------------------------------------------------------


def barrier_enter(frame) -> int:
    """Emits `barrier.enter`; returns the barrier's ordinal for `barrier_exit`."""
    if _collectives._pending:
        _collectives.poll()
    s = state
    n = s.barrier_count
    s.barrier_count = n + 1
    em = s.emitter
    if em is None:
        return n
    try:
        s.training_thread = _get_ident()
        fields: Dict[str, Any] = {"n": n}
        names = s.names
        if s.phases:
            phase, site = s.phases[-1]
            fields["phase"] = phase
            name = names[-1] if names else phase
        else:
            site = caller_site(frame)
            # Unnamed barriers are named after their source line, so ranks waiting at different
            # lines show up as a mismatch.
            name = names[-1] if names else site
        if name:
            fields["name"] = name
        if site:
            fields["site"] = site
        em.emit("barrier.enter", fields)
    except Exception as error:  # noqa: BLE001
        s.internal_error("wait_for_everyone", error)
    return n


def barrier_exit(n: int) -> None:
    em = state.emitter
    if em is not None:
        em.emit("barrier.exit", {"n": n})


def phase_enter(accelerate_state: Any, mode: str, frame) -> Optional[str]:
    em = state.emitter
    if em is None:
        return None
    try:
        if mode == "main_first":
            is_main = accelerate_state.is_main_process
        else:
            is_main = accelerate_state.is_local_main_process
        site = caller_site(frame) or "?"
        name = state.names[-1] if state.names else site
        state.phases.append((name, site))
        em.emit("phase.enter", {"name": name, "mode": mode, "main": bool(is_main)})
        return name
    except Exception as error:  # noqa: BLE001
        state.internal_error("main_process_first", error)
        return None


def phase_exit(name: Optional[str]) -> None:
    if name is None:
        return
    try:
        phases = state.phases
        if phases and phases[-1][0] == name:
            phases.pop()
        em = state.emitter
        if em is not None:
            em.emit("phase.exit", {"name": name})
    except Exception as error:  # noqa: BLE001
        state.internal_error("main_process_first", error)


class BarrierName:
    """`with ranktop.barrier_name("save"):` names every barrier and phase inside the block."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = str(name)[:200]

    def __enter__(self) -> "BarrierName":
        state.names.append(self.name)
        return self

    def __exit__(self, *exc_info) -> bool:
        names = state.names
        if names and names[-1] == self.name:
            names.pop()
        elif self.name in names:
            names.remove(self.name)
        return False


# -- triggers --------------------------------------------------------------------------------------


def trigger_set_by_code(frame) -> None:
    em = state.emitter
    if em is None:
        return
    try:
        site = caller_site(frame)
        fields: Dict[str, Any] = {"source": "code"}
        if site:
            fields["reason"] = "set_trigger() at " + site
        em.emit("trigger.set", fields)
    except Exception as error:  # noqa: BLE001
        state.internal_error("set_trigger", error)


def apply_injections(accelerator: Any, original_set_trigger, pending: deque) -> None:
    """On the training thread, before the collective check: raise the flag for each injection."""
    state.training_thread = _get_ident()
    while pending:
        try:
            injection_id, reason = pending.popleft()
        except IndexError:
            return
        try:
            original_set_trigger(accelerator)
            fields: Dict[str, Any] = {"source": "manual", "id": injection_id}
            if reason:
                fields["reason"] = reason
            em = state.emitter
            if em is not None:
                em.emit("trigger.set", fields)
        except Exception as error:  # noqa: BLE001
            state.internal_error("check_trigger", error)


def trigger_checked(fired: Any) -> None:
    s = state
    n = s.check_count
    s.check_count = n + 1
    em = s.emitter
    if em is not None:
        try:
            em.emit("trigger.check", {"n": n, "fired": bool(fired)})
        except Exception as error:  # noqa: BLE001
            s.internal_error("check_trigger", error)


# -- progress --------------------------------------------------------------------------------------


def progress(step, total=None, **metrics) -> None:
    """Reports training progress: `step` (>= 0), optional `total`, numeric metrics.

    `ranktop.progress(step, total=None, **metrics)`. A metric named `epoch` becomes the event's
    epoch field. Once called, explicit progress owns the step count and optimizer steps stop
    reporting their own. Costs about 2 us (docs/benchmarks.md); with RANKTOP_ADDR unset it
    returns at once.
    """
    s = state
    em = s.emitter
    if em is None:
        if s.disabled:
            return
        if not _wiring.start_from_environment():
            # Without RANKTOP_ADDR now, never in this process: later calls return at the first test.
            s.disabled = not os.environ.get("RANKTOP_ADDR")
            return
        em = s.emitter
    try:
        s.explicit_progress = True
        current = s.current_step = max(0, int(step))
        fields: Dict[str, Any] = {"step": current}
        if total is not None:
            s.current_total = max(0, int(total))
        if s.current_total is not None:
            fields["total"] = s.current_total
        if metrics:
            epoch = metrics.pop("epoch", None)
            if epoch is not None:
                fields["epoch"] = float(epoch)
            if metrics:
                fields["metrics"] = metrics
        em.emit("progress", fields)
    except Exception as error:  # noqa: BLE001
        s.internal_error("progress", error)


def optimizer_stepped(optimizer: Any) -> None:
    s = state
    em = s.emitter
    if em is None or s.explicit_progress:
        return
    if _collectives._pending:
        _collectives.poll()  # DDP's bucket all-reduces completed before the optimizer stepped
    try:
        gradient_state = getattr(optimizer, "gradient_state", None)
        if gradient_state is not None and not getattr(gradient_state, "sync_gradients", True):
            return  # a gradient-accumulation micro-step: the optimizer did not step
        s.current_step += 1
        fields: Dict[str, Any] = {"step": s.current_step}
        if s.current_total is not None:
            fields["total"] = s.current_total
        em.emit("progress", fields)
    except Exception as error:  # noqa: BLE001
        s.internal_error("optimizer step", error)


def metrics_logged(values: Any, logged_step: Any) -> None:
    s = state
    em = s.emitter
    if em is None:
        return
    try:
        if not isinstance(values, dict) or not values:
            return
        at = s.current_step
        if not at and not s.explicit_progress and isinstance(logged_step, int) and logged_step >= 0:
            at = logged_step
        fields: Dict[str, Any] = {"step": at, "metrics": dict(values)}
        if s.current_total is not None:
            fields["total"] = s.current_total
        em.emit("progress", fields)
    except Exception as error:  # noqa: BLE001
        s.internal_error("Accelerator.log", error)
