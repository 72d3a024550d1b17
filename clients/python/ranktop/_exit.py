"""How the process ends: `bye` at exit, with the code from sys.exit or the error that killed it.

The code and error are kept in `_state.state`. Starting an emitter at exit (a rank that died
before it said hello) is `_wiring`'s job: it hands its starter to `install_exit_hooks`, so this
module imports nothing but the state (and the collectives' poll, to flush async exits before `bye`).
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any, Callable, Dict, Optional

from . import _collectives
from ._state import state

MAX_TEXT = 2000

_installed = False
_starter: Optional[Callable[[], bool]] = None


def install_exit_hooks(starter: Callable[[], bool]) -> None:
    """atexit says `bye`; sys.excepthook and sys.exit record why the process ends."""
    global _installed, _starter
    _starter = starter
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    previous_hook = sys.excepthook

    def excepthook(kind, value, traceback):
        try:
            if issubclass(kind, KeyboardInterrupt):
                state.exit_code, state.exit_error = 130, "KeyboardInterrupt"
            else:
                state.exit_code = 1
                message = str(value)
                state.exit_error = ("%s: %s" % (kind.__name__, message) if message else kind.__name__)[:MAX_TEXT]
        except Exception:  # noqa: BLE001
            pass
        previous_hook(kind, value, traceback)

    sys.excepthook = excepthook
    original_exit = sys.exit

    def exit(status=None):  # noqa: A001 - stands in for sys.exit
        _record_exit_status(status)
        original_exit(status)

    exit.__wrapped__ = original_exit  # type: ignore[attr-defined]
    exit.__doc__ = original_exit.__doc__
    sys.exit = exit


def _record_exit_status(status: Any) -> None:
    try:
        if status is None:
            state.exit_code = 0
        elif isinstance(status, int):
            state.exit_code = status
        else:
            state.exit_code, state.exit_error = 1, str(status)[:MAX_TEXT]
    except Exception:  # noqa: BLE001
        pass


def say_bye() -> None:
    """`destroy_process_group` of the default group: the rank is done with the run, say so now."""
    try:
        em = state.emitter
        if em is None or state.bye_sent:
            return
        state.bye_sent = True
        _collectives.poll()  # async ops that completed since the last poll: their exits first
        _collectives.close_all()  # the group is gone: whatever is still pending is over too
        em.emit("bye", {})
        em.flush(0.5)
    except Exception:  # noqa: BLE001
        pass


def _at_exit() -> None:
    try:
        if state.bye_sent and not state.exit_error and not state.exit_code:
            em = state.emitter
            if em is not None:  # said bye at destroy_process_group; only flush what came after
                em.flush(0.5)
                em.stop()
            return
        em = state.emitter
        if em is None:
            # A worker that dies before Accelerate is up still says why; a launcher process
            # (no RANK) that merely imported accelerate stays silent.
            if state.exit_error is None or "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
                return
            if _starter is None or not _starter():
                return
            em = state.emitter
        _collectives.poll()
        fields: Dict[str, Any] = {}
        if state.exit_code is not None:
            fields["code"] = state.exit_code
        if state.exit_error:
            fields["error"] = state.exit_error
        em.emit("bye", fields)
        em.flush(1.0)
        em.stop()
    except Exception:  # noqa: BLE001
        pass
