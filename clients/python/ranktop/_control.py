"""Control lines from the collector, handled on the connection's reader thread.

An injection is only queued here: the training thread applies it at its next check_trigger
(`_runtime.apply_injections`, called by the check_trigger patch). A stack request is answered right here, so it works while the
training thread is blocked in a collective (which releases the GIL).
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Any, Dict, List

from ._state import state

MAX_STACK_FRAMES = 128

# (id, reason) received, not yet applied on the training thread; the patches read it.
pending: deque = state.pending_injections


def on_control(message: Dict[str, Any]) -> None:
    kind = message.get("kind")
    request_id = message.get("id")
    if not isinstance(request_id, str):
        return
    if kind == "inject":
        seen = state.seen_injections
        if request_id in seen:
            return  # the same id twice acts once
        seen.add(request_id)
        reason = message.get("reason")
        pending.append((request_id, reason if isinstance(reason, str) else None))
    elif kind == "stack.req":
        em = state.emitter
        if em is not None:
            em.emit("stack", {"id": request_id, "frames": training_stack()})


def training_stack() -> List[str]:
    """The training thread's Python stack, innermost last, as `path:line in function: code`."""
    import traceback

    frames = sys._current_frames()
    thread = state.training_thread
    frame = frames.get(thread) if thread is not None else None
    if frame is None:
        frame = frames.get(threading.main_thread().ident)
    if frame is None:
        return []
    lines = []
    for entry in traceback.extract_stack(frame)[-MAX_STACK_FRAMES:]:
        text = "%s:%d in %s" % (entry.filename, entry.lineno, entry.name)
        if entry.line:
            text += ": " + entry.line.strip()
        lines.append(text[:400])
    return lines
