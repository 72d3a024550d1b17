"""The import hook of zero-code mode: patches Accelerate's and torch.distributed's modules as the
script imports them.

A meta path finder that only answers for the modules it patches (`PATCHES`): it asks the rest of
`sys.meta_path` for the real spec and wraps that loader's `exec_module`, so each class is patched
right after its module ran and before anyone imported from it. The module keeps its own loader.
"""

from __future__ import annotations

import sys

from . import _parallel_patches, _patches, _torch_patches, _wiring
from ._state import state

PATCHES = dict(_torch_patches.PATCHES)
PATCHES.update(_parallel_patches.PATCHES)
PATCHES.update(_patches.PATCHES)


class AccelerateFinder:
    def __init__(self) -> None:
        self._pending = set(PATCHES)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self._pending:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            try:
                spec = finder.find_spec(fullname, path, target)
            except Exception:  # noqa: BLE001 - let the normal import machinery report it
                return None
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        self._pending.discard(fullname)
        if not self._pending:
            self.remove()
        _patch_after_exec(loader, PATCHES[fullname])
        return spec

    def remove(self) -> None:
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass


def _patch_after_exec(loader, patch) -> None:
    exec_module = loader.exec_module

    def exec_and_patch(module):
        exec_module(module)
        try:
            _wiring.install_exit_hooks()
            patch(module)
        except Exception as error:  # noqa: BLE001
            state.internal_error("instrument", error)

    loader.exec_module = exec_and_patch


_finder = None


def install() -> bool:
    """Installs the hook (once) and patches what is already imported. False without RANKTOP_ADDR."""
    global _finder
    if not state.enabled():
        return False
    if _finder is None:
        _finder = AccelerateFinder()
        sys.meta_path.insert(0, _finder)
    already = [name for name in PATCHES if name in sys.modules]
    if already:
        _wiring.install_exit_hooks()
        for name in already:
            try:
                PATCHES[name](sys.modules[name])
            except Exception as error:  # noqa: BLE001
                state.internal_error("instrument", error)
    return True
