"""The adapter's state inside one rank, in one object: `state`, the process's only `RankState`.

A leaf module: it imports nothing else of the adapter, so every other module can read and update
the state without importing the modules that wire the adapter together (`_wiring`).

Fields written on the training thread: the ordinals, the step, barrier names and phases. The
reader thread only appends to `pending_injections` and reads `training_thread`; the exit hooks only
set `exit_code` / `exit_error`.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from typing import Any, Deque, List, Optional, Set, Tuple

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class RankState:
    __slots__ = (
        "emitter", "disabled", "start_lock",
        "barrier_count", "check_count", "current_step", "current_total", "explicit_progress",
        "names", "phases", "training_thread",
        "errors", "error_reported", "pending_error_log",
        "skip_prefixes", "pending_injections", "seen_injections",
        "exit_code", "exit_error",
        "labels", "step_hook", "accelerated_step", "bye_sent",
    )

    def __init__(self) -> None:
        # The emitter once this rank has said hello; None before that, after a fork, or when disabled.
        self.emitter: Any = None
        self.disabled = False  # RANKTOP_ADDR unset or unusable: stay silent for good
        self.start_lock = threading.Lock()

        self.barrier_count = 0  # the ordinal of this rank's next barrier
        self.check_count = 0  # the ordinal of this rank's next check_trigger
        self.current_step = 0  # optimizer steps seen, or the last explicit progress step
        self.current_total: Optional[int] = None
        self.explicit_progress = False  # ranktop.progress() was called: it owns the step from then on

        self.names: List[str] = []  # barrier_name() blocks, innermost last
        self.phases: List[Tuple[str, str]] = []  # open main-first phases as (name, site), innermost last
        self.training_thread: Optional[int] = None

        self.errors = 0  # the adapter's own failures
        self.error_reported = False
        self.pending_error_log: Optional[str] = None  # the first failure, before there was an emitter

        # Frames under these directories are library code, never a barrier's site.
        self.skip_prefixes: Tuple[str, ...] = (PACKAGE_DIR,)
        # Injections (id, reason) received by the reader thread, applied at the next check_trigger.
        self.pending_injections: Deque[Tuple[str, Optional[str]]] = deque()
        self.seen_injections: Set[str] = set()

        self.exit_code: Optional[int] = None  # from sys.exit or the uncaught exception
        self.exit_error: Optional[str] = None

        # The APIs a collective is issued from (check_trigger, gather_for_metrics, ddp.init),
        # outermost first: the outermost labels the collective.
        self.labels: List[str] = []
        self.step_hook = False  # torch's global optimizer step hook is registered
        self.accelerated_step = False  # inside AcceleratedOptimizer.step: it reports the step
        self.bye_sent = False  # destroy_process_group said bye

    def enabled(self) -> bool:
        return not self.disabled and bool(os.environ.get("RANKTOP_ADDR"))

    def internal_error(self, where: str, error: BaseException) -> None:
        """Counts one of the adapter's own failures; the first is reported as a `log` event."""
        try:
            self.errors += 1
            if self.error_reported:
                return
            self.error_reported = True
            message = "ranktop adapter error in %s: %s: %s (later adapter errors are only counted)" % (
                where, type(error).__name__, str(error)[:500])
            emitter = self.emitter
            if emitter is not None:
                emitter.emit("log", {"level": "warning", "msg": message})
            else:
                self.pending_error_log = message
        except Exception:  # noqa: BLE001 - reporting must never fail outward
            pass

    def forget_after_fork(self) -> None:
        # A forked child (a DataLoader worker, say) is not the rank: it must stay silent.
        if self.emitter is not None:
            self.emitter = None
            self.disabled = True


state = RankState()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=state.forget_after_fork)
