"""Who this rank is: the fields of its `hello`, from Accelerate's state or the launcher's environment."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import uuid
from typing import Any, Dict, Optional


def _env_int(name: str, default: Optional[int] = None) -> Optional[int]:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return default


def run_id() -> str:
    """RANKTOP_RUN, else torchrun's run id, else one every rank of the run derives alike."""
    for name in ("RANKTOP_RUN", "TORCHELASTIC_RUN_ID"):
        value = os.environ.get(name, "").strip()
        if value and value != "none":
            return value[:200]
    master = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
    if all(master):
        digest = hashlib.sha1(("%s:%s:%s" % (master + (os.environ.get("WORLD_SIZE", ""),))).encode()).hexdigest()
        return "run-" + digest[:12]
    return "run-" + uuid.uuid4().hex[:12]


def _version(module_name: str) -> Optional[str]:
    module = sys.modules.get(module_name)
    version = getattr(module, "__version__", None)
    if not isinstance(version, str):
        return None
    return version.split("+", 1)[0]  # "2.15.0+cu132" -> "2.15.0"


def runtime() -> str:
    """`accelerate/1.15.0 torch/2.15.0` under Accelerate; `torch/2.15.0 gloo` for torch.distributed alone."""
    parts = []
    for name in ("accelerate", "torch"):
        version = _version(name)
        if version:
            parts.append("%s/%s" % (name, version))
    if not parts:
        parts.append("python/%d.%d.%d" % sys.version_info[:3])
    elif _version("accelerate") is None:
        backend = _backend()
        if backend:
            parts.append(backend)
    return " ".join(parts)


def _backend() -> Optional[str]:
    dist = sys.modules.get("torch.distributed")
    try:
        if dist is not None and dist.is_initialized():
            return str(dist.get_backend())[:100]
    except Exception:  # noqa: BLE001
        pass
    return None


def process_group_timeout() -> Optional[float]:
    """The default process group's collective timeout in seconds, when torch.distributed is up."""
    torch = sys.modules.get("torch")
    dist = sys.modules.get("torch.distributed")
    if torch is None or dist is None:
        return None
    try:
        if not dist.is_available() or not dist.is_initialized():
            return None
    except Exception:  # noqa: BLE001
        return None
    c10d = getattr(dist, "distributed_c10d", None)
    try:
        group = c10d._get_default_group()
    except Exception:  # noqa: BLE001
        group = None
    if group is not None:
        for device in ("cpu", "cuda"):
            try:
                timeout = group._get_backend(torch.device(device)).options._timeout
                return float(timeout.total_seconds())
            except Exception:  # noqa: BLE001 - older torch, or no backend for that device
                continue
    try:
        return float(c10d._get_default_timeout(dist.get_backend()).total_seconds())
    except Exception:  # noqa: BLE001
        return None


def hello_fields(rank: int, world: int, local_rank: int, local_world: Optional[int], caps) -> Dict[str, Any]:
    fields: Dict[str, Any] = {
        "v": 1,
        "run": run_id(),
        "world": max(1, world),
        "local_rank": max(0, local_rank),
        # Without LOCAL_WORLD_SIZE (a launcher other than torchrun), assume one node.
        "local_world": max(1, local_world or _env_int("LOCAL_WORLD_SIZE") or world, local_rank + 1),
        "node": socket.gethostname(),
        "pid": os.getpid(),
        "runtime": runtime(),
    }
    timeout = process_group_timeout()
    if timeout is not None:
        fields["timeout"] = timeout
    restart = _env_int("TORCHELASTIC_RESTART_COUNT")
    if restart is not None and restart >= 0:
        fields["restart"] = restart
    fields["caps"] = list(caps)
    token = os.environ.get("RANKTOP_TOKEN")
    if token:
        fields["token"] = token
    return fields


def from_environment():
    """(rank, world, local_rank, local_world) as a launcher (torchrun, accelerate launch, ranktop launch) sets them."""
    rank = _env_int("RANK", 0)
    world = _env_int("WORLD_SIZE", 1)
    local_rank = _env_int("LOCAL_RANK", rank)
    local_world = _env_int("LOCAL_WORLD_SIZE")
    return rank, world, local_rank, local_world
