"""The adapter's state inside one rank: starting, counters, phases, barrier names, triggers, progress.

Everything here runs on the training thread (control lines are `_control`'s, exit is `_exit`'s).
Every entry point swallows its own errors: they are counted and the first one is reported as a
`log` event, and user code never sees them.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from typing import Any, Dict, List, Optional, Tuple

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# The emitter once this rank has said hello; None before that, after a fork, or when disabled.
emitter = None
_disabled = False  # RANKTOP_ADDR unset or unusable: stay silent for good
_start_lock = threading.Lock()

barrier_count = 0  # the ordinal of this rank's next barrier
check_count = 0  # the ordinal of this rank's next check_trigger
current_step = 0  # optimizer steps seen, or the last explicit progress step
current_total: Optional[int] = None
explicit_progress = False  # ranktop.progress() was called: it owns the step from then on

names: List[str] = []  # barrier_name() blocks, innermost last
phases: List[Tuple[str, str]] = []  # open main-first phases as (name, site), innermost last

training_thread: Optional[int] = None

errors = 0  # the adapter's own failures
_error_reported = False
_pending_error_log: Optional[str] = None

_skip_prefixes: Tuple[str, ...] = (_PACKAGE_DIR,)


def enabled() -> bool:
    return not _disabled and bool(os.environ.get("RANKTOP_ADDR"))


# -- errors ----------------------------------------------------------------------------------------


def internal_error(where: str, error: BaseException) -> None:
    """Counts one of the adapter's own failures; the first is reported as a `log` event."""
    global errors, _error_reported, _pending_error_log
    try:
        errors += 1
        if _error_reported:
            return
        _error_reported = True
        message = "ranktop adapter error in %s: %s: %s (later adapter errors are only counted)" % (
            where, type(error).__name__, str(error)[:500])
        if emitter is not None:
            emitter.emit("log", {"level": "warning", "msg": message})
        else:
            _pending_error_log = message
    except Exception:  # noqa: BLE001 - reporting must never fail outward
        pass


# -- starting --------------------------------------------------------------------------------------


def _warn(message: str) -> None:
    try:
        sys.stderr.write("ranktop: %s\n" % message)
    except Exception:  # noqa: BLE001
        pass


def start(rank: int, world: int, local_rank: int, local_world: Optional[int]) -> bool:
    """Says hello (once per process) and starts streaming. False when reporting is off."""
    global emitter, _disabled, _pending_error_log, training_thread
    if emitter is not None:
        return True
    if not enabled():
        return False
    with _start_lock:
        if emitter is not None:
            return True
        from . import _control, _exit
        from ._address import AddressError, parse_address
        from ._emitter import Emitter
        from ._identity import hello_fields
        from ._transport import TransportUnsupported, transport_for

        text = os.environ.get("RANKTOP_ADDR", "")
        try:
            transport = transport_for(parse_address(text))
        except (AddressError, TransportUnsupported) as error:
            _disabled = True
            _warn("RANKTOP_ADDR=%s: %s; this process will not report to ranktop" % (text, error))
            return False
        caps = ["inject", "stack"] if _can_inject() else ["stack"]
        hello = hello_fields(rank, world, local_rank, local_world, caps)
        new = Emitter(transport, rank, hello, on_control=_control.on_control)
        new.start()
        if training_thread is None:
            training_thread = threading.get_ident()
        emitter = new
        _exit.install_exit_hooks()
        if _pending_error_log is not None:
            new.emit("log", {"level": "warning", "msg": _pending_error_log})
            _pending_error_log = None
        return True


def start_from_environment() -> bool:
    if emitter is not None:
        return True
    if not enabled():
        return False
    from ._identity import from_environment

    return start(*from_environment())


def state_ready(state: Any) -> None:
    """Accelerate's PartialState is initialised: its rank and world are final, so say hello."""
    if emitter is not None or not enabled():
        return
    try:
        rank = int(state.process_index)
        world = int(state.num_processes)
        local_rank = int(state.local_process_index)
    except (AttributeError, TypeError, ValueError):
        return  # not (yet) a complete state
    try:
        start(rank, world, local_rank, None)
    except Exception as error:  # noqa: BLE001
        internal_error("start", error)


def _can_inject() -> bool:
    module = sys.modules.get("accelerate.accelerator")
    accelerator = getattr(module, "Accelerator", None)
    return accelerator is None or hasattr(accelerator, "check_trigger")


def _forget_after_fork() -> None:
    # A forked child (a DataLoader worker, say) is not the rank: it must stay silent.
    global emitter, _disabled
    if emitter is not None:
        emitter = None
        _disabled = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def skip_frames_from(*directories: str) -> None:
    """Frames under these directories are library code, never a barrier's site."""
    global _skip_prefixes
    extra = tuple(d if d.endswith(os.sep) else d + os.sep for d in directories if d)
    _skip_prefixes = tuple(dict.fromkeys(_skip_prefixes + extra))


# -- where a call came from -----------------------------------------------------------------------


def caller_site(frame) -> Optional[str]:
    """`file.py:88` of the first frame outside ranktop, Accelerate, torch and contextlib."""
    prefixes = _skip_prefixes
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(prefixes) and not filename.endswith("contextlib.py"):
            return "%s:%d" % (os.path.basename(filename), frame.f_lineno)
        frame = frame.f_back
    return None


# -- barriers and phases ---------------------------------------------------------------------------


def barrier_enter(frame) -> int:
    """Emits `barrier.enter`; returns the barrier's ordinal for `barrier_exit`."""
    global barrier_count, training_thread
    n = barrier_count
    barrier_count = n + 1
    em = emitter
    if em is None:
        return n
    try:
        training_thread = threading.get_ident()
        fields: Dict[str, Any] = {"n": n}
        if phases:
            phase, site = phases[-1]
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
        internal_error("wait_for_everyone", error)
    return n


def barrier_exit(n: int) -> None:
    em = emitter
    if em is not None:
        em.emit("barrier.exit", {"n": n})


def phase_enter(state: Any, mode: str, frame) -> Optional[str]:
    em = emitter
    if em is None:
        return None
    try:
        is_main = state.is_main_process if mode == "main_first" else state.is_local_main_process
        site = caller_site(frame) or "?"
        name = names[-1] if names else site
        phases.append((name, site))
        em.emit("phase.enter", {"name": name, "mode": mode, "main": bool(is_main)})
        return name
    except Exception as error:  # noqa: BLE001
        internal_error("main_process_first", error)
        return None


def phase_exit(name: Optional[str]) -> None:
    if name is None:
        return
    try:
        if phases and phases[-1][0] == name:
            phases.pop()
        em = emitter
        if em is not None:
            em.emit("phase.exit", {"name": name})
    except Exception as error:  # noqa: BLE001
        internal_error("main_process_first", error)


class BarrierName:
    """`with ranktop.barrier_name("save"):` names every barrier and phase inside the block."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = str(name)[:200]

    def __enter__(self) -> "BarrierName":
        names.append(self.name)
        return self

    def __exit__(self, *exc_info) -> bool:
        if names and names[-1] == self.name:
            names.pop()
        elif self.name in names:
            names.remove(self.name)
        return False


# -- triggers --------------------------------------------------------------------------------------


def trigger_set_by_code(frame) -> None:
    em = emitter
    if em is None:
        return
    try:
        site = caller_site(frame)
        fields: Dict[str, Any] = {"source": "code"}
        if site:
            fields["reason"] = "set_trigger() at " + site
        em.emit("trigger.set", fields)
    except Exception as error:  # noqa: BLE001
        internal_error("set_trigger", error)


def apply_injections(accelerator: Any, original_set_trigger, pending: deque) -> None:
    """On the training thread, before the collective check: raise the flag for each injection."""
    global training_thread
    training_thread = threading.get_ident()
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
            em = emitter
            if em is not None:
                em.emit("trigger.set", fields)
        except Exception as error:  # noqa: BLE001
            internal_error("check_trigger", error)


def trigger_checked(fired: Any) -> None:
    global check_count
    n = check_count
    check_count = n + 1
    em = emitter
    if em is not None:
        try:
            em.emit("trigger.check", {"n": n, "fired": bool(fired)})
        except Exception as error:  # noqa: BLE001
            internal_error("check_trigger", error)


# -- progress --------------------------------------------------------------------------------------


def progress(step, total=None, **metrics) -> None:
    """Reports training progress: `step` (>= 0), optional `total`, numeric metrics.

    `ranktop.progress(step, total=None, **metrics)`. A metric named `epoch` becomes the event's
    epoch field. Once called, explicit progress owns the step count and optimizer steps stop
    reporting their own. Costs about 2 us (docs/benchmarks.md); with RANKTOP_ADDR unset it
    returns at once.
    """
    global current_step, current_total, explicit_progress, _disabled
    em = emitter
    if em is None:
        if _disabled:
            return
        if not start_from_environment():
            # Without RANKTOP_ADDR now, never in this process: later calls return at the first test.
            _disabled = not os.environ.get("RANKTOP_ADDR")
            return
        em = emitter
    try:
        explicit_progress = True
        current_step = max(0, int(step))
        fields: Dict[str, Any] = {"step": current_step}
        if total is not None:
            current_total = max(0, int(total))
        if current_total is not None:
            fields["total"] = current_total
        if metrics:
            epoch = metrics.pop("epoch", None)
            if epoch is not None:
                fields["epoch"] = float(epoch)
            if metrics:
                fields["metrics"] = metrics
        em.emit("progress", fields)
    except Exception as error:  # noqa: BLE001
        internal_error("progress", error)


def optimizer_stepped(optimizer: Any) -> None:
    global current_step
    em = emitter
    if em is None or explicit_progress:
        return
    try:
        gradient_state = getattr(optimizer, "gradient_state", None)
        if gradient_state is not None and not getattr(gradient_state, "sync_gradients", True):
            return  # a gradient-accumulation micro-step: the optimizer did not step
        current_step += 1
        fields: Dict[str, Any] = {"step": current_step}
        if current_total is not None:
            fields["total"] = current_total
        em.emit("progress", fields)
    except Exception as error:  # noqa: BLE001
        internal_error("optimizer step", error)


def metrics_logged(values: Any, logged_step: Any) -> None:
    em = emitter
    if em is None:
        return
    try:
        if not isinstance(values, dict) or not values:
            return
        at = current_step
        if not at and not explicit_progress and isinstance(logged_step, int) and logged_step >= 0:
            at = logged_step
        fields: Dict[str, Any] = {"step": at, "metrics": dict(values)}
        if current_total is not None:
            fields["total"] = current_total
        em.emit("progress", fields)
    except Exception as error:  # noqa: BLE001
        internal_error("Accelerator.log", error)
