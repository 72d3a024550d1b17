"""The rank's state object, the site cache and the module structure, in this process."""

import subprocess
import sys
from pathlib import Path

from ranktop import _runtime
from ranktop._state import RankState, state

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _site_here():
    return _runtime.caller_site(sys._getframe(1))


def test_every_field_of_the_rank_lives_in_one_state_object():
    fresh = RankState()
    assert fresh.emitter is None and fresh.barrier_count == 0 and fresh.names == [] and fresh.errors == 0
    assert not hasattr(_runtime, "emitter") and not hasattr(_runtime, "barrier_count")
    fresh.internal_error("here", KeyError("x"))
    fresh.internal_error("there", KeyError("y"))
    assert fresh.errors == 2 and "KeyError" in fresh.pending_error_log and "here" in fresh.pending_error_log


def test_the_cached_site_follows_the_calling_line():
    first = []
    for _ in range(3):
        first.append(_site_here())
    second = _site_here()
    assert first[0] == first[1] == first[2]
    assert first[0].startswith("test_state.py:") and second.startswith("test_state.py:")
    assert int(second.split(":")[1]) == int(first[0].split(":")[1]) + 1, (first, second)


def test_library_directories_added_later_are_skipped_from_then_on():
    saved = state.skip_prefixes
    try:
        assert _site_here().startswith("test_state.py:")
        _runtime.skip_frames_from(str(Path(__file__).resolve().parent))
        site = _site_here()
        assert site is None or not site.startswith("test_state.py:")
    finally:
        state.skip_prefixes = saved
        _runtime._library_code.clear()
        _runtime._sites.clear()


def test_every_module_imports_alone_and_there_is_no_import_circle():
    result = subprocess.run([sys.executable, str(BENCH / "check_imports.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no import circle" in result.stdout
