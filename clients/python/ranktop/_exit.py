"""How the process ends: `bye` at exit, with the code from sys.exit or the error that killed it."""

from __future__ import annotations

import atexit
import os
import sys
from typing import Any, Dict, Optional

from . import _runtime as rt

MAX_TEXT = 2000

exit_code: Optional[int] = None
exit_error: Optional[str] = None
_installed = False


def install_exit_hooks() -> None:
    """atexit says `bye`; sys.excepthook and sys.exit record why the process ends."""
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    previous_hook = sys.excepthook

    def excepthook(kind, value, traceback):
        global exit_code, exit_error
        try:
            if issubclass(kind, KeyboardInterrupt):
                exit_code, exit_error = 130, "KeyboardInterrupt"
            else:
                exit_code = 1
                message = str(value)
                exit_error = ("%s: %s" % (kind.__name__, message) if message else kind.__name__)[:MAX_TEXT]
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
    global exit_code, exit_error
    try:
        if status is None:
            exit_code = 0
        elif isinstance(status, int):
            exit_code = status
        else:
            exit_code, exit_error = 1, str(status)[:MAX_TEXT]
    except Exception:  # noqa: BLE001
        pass


def _at_exit() -> None:
    try:
        em = rt.emitter
        if em is None:
            # A worker that dies before Accelerate is up still says why; a launcher process
            # (no RANK) that merely imported accelerate stays silent.
            if exit_error is None or "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
                return
            if not rt.start_from_environment():
                return
            em = rt.emitter
        fields: Dict[str, Any] = {}
        if exit_code is not None:
            fields["code"] = exit_code
        if exit_error:
            fields["error"] = exit_error
        em.emit("bye", fields)
        em.flush(1.0)
        em.stop()
    except Exception:  # noqa: BLE001
        pass
