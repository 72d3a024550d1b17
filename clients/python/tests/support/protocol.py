"""Protocol-v1 checks for the lines an emitter sends (the rules of docs/protocol.md, kind by kind)."""

from __future__ import annotations

from typing import Optional

_INT = "int"
_NUM = "number"
_STR = "string"
_BOOL = "bool"

_REQUIRED = {
    "hello": {"v": _INT, "run": _STR, "world": _INT, "local_rank": _INT, "local_world": _INT, "node": _STR,
              "pid": _INT, "runtime": _STR},
    "progress": {"step": _INT},
    "barrier.enter": {"n": _INT},
    "barrier.exit": {"n": _INT},
    "phase.enter": {"name": _STR, "mode": _STR, "main": _BOOL},
    "phase.exit": {"name": _STR},
    "trigger.set": {"source": _STR},
    "trigger.check": {"n": _INT, "fired": _BOOL},
    "log": {"level": _STR, "msg": _STR},
    "heartbeat": {},
    "stack": {"id": _STR},
    "bye": {},
    "collective.enter": {"group": _STR, "n": _INT, "op": _STR},
    "collective.exit": {"group": _STR, "n": _INT},
}

_OPTIONAL = {
    "hello": {"timeout": _NUM, "restart": _INT, "token": _STR},
    "progress": {"total": _INT, "epoch": _NUM},
    "barrier.enter": {"name": _STR, "site": _STR, "phase": _STR},
    "trigger.set": {"reason": _STR, "id": _STR},
    "bye": {"code": _INT, "error": _STR},
    "collective.enter": {"size": _INT, "bytes": _INT, "dtype": _STR, "site": _STR, "label": _STR, "async": _BOOL},
    "collective.exit": {"op": _STR},
}


def _is(value, kind: str) -> bool:
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _STR:
        return isinstance(value, str)
    return isinstance(value, bool)


def check_event(event) -> Optional[str]:
    """None when the event is valid protocol v1 from a rank, else what is wrong."""
    if not isinstance(event, dict):
        return "not an object: %r" % (event,)
    kind = event.get("kind")
    if kind not in _REQUIRED:
        return "unknown kind %r" % (kind,)
    for field, expected in (("rank", _INT), ("ts", _NUM), ("seq", _INT)):
        if not _is(event.get(field), expected):
            return "%s: field %r is not %s: %r" % (kind, field, expected, event)
    if event["rank"] < 0 or event["seq"] < 0:
        return "%s: negative rank or seq: %r" % (kind, event)
    for field, expected in _REQUIRED[kind].items():
        if not _is(event.get(field), expected):
            return "%s: required field %r is not %s: %r" % (kind, field, expected, event)
    for field, expected in _OPTIONAL.get(kind, {}).items():
        if field in event and not _is(event[field], expected):
            return "%s: field %r is not %s: %r" % (kind, field, expected, event)
    if kind == "hello":
        if event["v"] != 1 or event["world"] < 1 or event["seq"] != 0:
            return "bad hello: %r" % (event,)
        if not (isinstance(event.get("caps", []), list) and all(isinstance(c, str) for c in event.get("caps", []))):
            return "hello: caps is not an array of strings: %r" % (event,)
    if kind == "collective.enter":
        if event.get("size", 1) < 1 or event.get("bytes", 0) < 0:
            return "collective.enter: bad size or bytes: %r" % (event,)
        members = event.get("members")
        if members is not None and not (isinstance(members, list) and members and all(
                _is(m, _INT) and m >= 0 for m in members)):
            return "collective.enter: members must be global ranks: %r" % (event,)
    if kind in ("progress", "barrier.enter", "barrier.exit", "trigger.check", "collective.enter",
                "collective.exit") and any(
        event.get(f, 0) < 0 for f in ("step", "n", "total") if f in event
    ):
        return "%s: negative counter: %r" % (kind, event)
    if kind == "progress" and "metrics" in event:
        metrics = event["metrics"]
        if not isinstance(metrics, dict) or not all(v is None or _is(v, _NUM) for v in metrics.values()):
            return "progress: metrics must map names to numbers: %r" % (event,)
    if kind == "phase.enter" and event["mode"] not in ("main_first", "local_main_first"):
        return "phase.enter: bad mode: %r" % (event,)
    if kind == "trigger.set" and event["source"] not in ("code", "manual"):
        return "trigger.set: bad source: %r" % (event,)
    if kind == "log" and event["level"] not in ("debug", "info", "warning", "error"):
        return "log: bad level: %r" % (event,)
    if kind == "stack" and not (isinstance(event.get("frames"), list) and all(isinstance(f, str) for f in event["frames"])):
        return "stack: frames must be strings: %r" % (event,)
    return None
