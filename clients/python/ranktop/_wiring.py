"""Where the adapter is wired together: the emitter is made, connected to the control handler and
the exit hooks, once per process. The only module that imports the others' pieces to join them;
nothing else imports it except the entry points (`_runtime.progress`, the patches, the import hook),
so there is no import circle.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Optional

from . import _collectives, _control, _exit
from ._state import state


def _warn(message: str) -> None:
    try:
        sys.stderr.write("ranktop: %s\n" % message)
    except Exception:  # noqa: BLE001
        pass


def start(rank: int, world: int, local_rank: int, local_world: Optional[int]) -> bool:
    """Says hello (once per process) and starts streaming. False when reporting is off."""
    if state.emitter is not None:
        return True
    if not state.enabled():
        return False
    with state.start_lock:
        if state.emitter is not None:
            return True
        from ._address import AddressError, parse_address
        from ._emitter import Emitter
        from ._identity import hello_fields
        from ._transport import TransportUnsupported, transport_for

        text = os.environ.get("RANKTOP_ADDR", "")
        try:
            address = parse_address(text)
            transport = transport_for(address) if address.scheme != "shm" else None
        except (AddressError, TransportUnsupported) as error:
            state.disabled = True
            _warn("RANKTOP_ADDR=%s: %s; this process will not report to ranktop" % (text, error))
            return False
        caps = ["inject", "stack"] if _can_inject() else ["stack"]
        hello = hello_fields(rank, world, local_rank, local_world, caps)
        if transport is None:
            new = _shared_memory_emitter(text, address.name, rank, hello)
            if new is None:
                return False
        else:
            new = Emitter(transport, rank, hello, on_control=_control.on_control)
        new.tick = _collectives.poll
        new.start()
        if state.training_thread is None:
            state.training_thread = threading.get_ident()
        state.emitter = new
        install_exit_hooks()
        if state.pending_error_log is not None:
            new.emit("log", {"level": "warning", "msg": state.pending_error_log})
            state.pending_error_log = None
        return True


def _shared_memory_emitter(text: str, name: str, rank: int, hello) -> Any:
    """The segment's writer for `shm://NAME`; None (one warning, reporting off) when it cannot be set up."""
    try:
        from ._shm import SharedMemoryEmitter

        return SharedMemoryEmitter(name, rank, hello, on_control=_control.on_control)
    except Exception as error:  # noqa: BLE001 - SegmentError, or anything else: never into training
        state.disabled = True
        _warn("RANKTOP_ADDR=%s: %s; this process will not report to ranktop" % (text, error))
        return None


def start_from_environment() -> bool:
    if state.emitter is not None:
        return True
    if not state.enabled():
        return False
    from ._identity import from_environment

    return start(*from_environment())


def install_exit_hooks() -> None:
    """`bye` at exit; a rank that dies before it said hello starts from the environment to say why."""
    _exit.install_exit_hooks(start_from_environment)


def state_ready(accelerate_state: Any) -> None:
    """Accelerate's PartialState is initialised: its rank and world are final, so say hello."""
    if state.emitter is not None or not state.enabled():
        return
    try:
        rank = int(accelerate_state.process_index)
        world = int(accelerate_state.num_processes)
        local_rank = int(accelerate_state.local_process_index)
    except (AttributeError, TypeError, ValueError):
        return  # not (yet) a complete state
    try:
        start(rank, world, local_rank, None)
    except Exception as error:  # noqa: BLE001
        state.internal_error("start", error)


def _can_inject() -> bool:
    # Injections are applied at check_trigger: a torch.distributed script without Accelerate has none.
    if "accelerate" not in sys.modules and "torch.distributed" in sys.modules:
        return False
    module = sys.modules.get("accelerate.accelerator")
    accelerator = getattr(module, "Accelerator", None)
    return accelerator is None or hasattr(accelerator, "check_trigger")
