"""ranktop's adapter for Hugging Face Accelerate: every rank streams its barriers, main-first phases,
trigger checks and progress to a ranktop collector (protocol v1, see docs/protocol.md).

Under `ranktop run` / `ranktop launch` nothing needs importing: the run's Python processes load
`ranktop/_autoload/sitecustomize.py`, which patches accelerate when the script imports it. In code:

    import ranktop
    ranktop.instrument()                      # patch Accelerate (no-op without RANKTOP_ADDR)
    with ranktop.barrier_name("save"):        # name the barriers and phases in a block
        accelerator.wait_for_everyone()
    ranktop.progress(step, total=1000, loss=0.3)

Without RANKTOP_ADDR every function here returns at once and nothing is patched.
"""

from __future__ import annotations

from . import _runtime
from ._state import state as _rank

__version__ = "0.1.0"
__all__ = ["instrument", "progress", "barrier_name", "stats", "__version__"]


def instrument() -> bool:
    """Patches Accelerate's classes so every rank reports. True when reporting is on.

    Idempotent; a no-op (False) when RANKTOP_ADDR is unset. Safe to call before or after the
    `Accelerator` is created; if accelerate is not imported yet, it is patched when it is.
    """
    try:
        from . import _hook

        return _hook.install()
    except Exception as error:  # noqa: BLE001 - never raise into the training script
        _rank.internal_error("instrument", error)
        return False


# The runtime's function itself, not a wrapper: one Python call less on the training thread.
progress = _runtime.progress


def barrier_name(name: str) -> "_runtime.BarrierName":
    """`with ranktop.barrier_name("save"):` names the barriers (and main-first phases) inside.

    Without it a barrier is named after the source line that called it (`train.py:88`).
    """
    return _runtime.BarrierName(name)


def stats() -> dict:
    """The adapter's own counters: events dropped on a full queue, its internal errors, connections."""
    emitter = _rank.emitter
    return {
        "reporting": emitter is not None,
        "dropped": emitter.dropped if emitter is not None else 0,
        "sent": emitter.sent if emitter is not None else 0,
        "connections": emitter.connections if emitter is not None else 0,
        "errors": _rank.errors,
    }
