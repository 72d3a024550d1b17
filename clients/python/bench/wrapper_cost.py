"""What the collective wrapper costs around different calls, and which of its parts (issue 11).

    cd clients/python && OMP_NUM_THREADS=1 RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 RANKTOP_RUN=wc \
        RANKTOP_ADDR=shm://wrapper-cost PYTHONPATH=ranktop/_autoload:. \
        ~/.cache/ranktop/venv/bin/python bench/wrapper_cost.py; rm -f /dev/shm/ranktop-wrapper-cost

One process, a gloo world of 1 and the zero-code adapter. `_torch_patches._wrap_collective` wraps
stand-ins with `all_reduce`'s signature: a no-op, a small torch op, and a 50 us sleep (the thread
blocks and is woken, as in gloo's wait), next to the real `dist.all_reduce`, each with the C body
(`_native_collective.c`, when built) and the Python body; then `ProcessGroup.allreduce([t]).wait()`, as
torch's C++ callers issue collectives, reported by the process group's hooks with each body
(`_native_pg_hooks.c` and `_pg_hooks.py`) against none, and against hooks that return at once
(torch's own share). Then, around the sleep, Python wrappers with one part taken out each. Modes
rotate batch by batch; each figure is the median over 120 batches of the paired difference in the
calling thread's CPU time per call. `--hooks`: only the hooks' rows (to compare two builds).
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
import torch.distributed as dist

from ranktop import _collectives as co
from ranktop import _pg_hooks
from ranktop import _runtime as rt
from ranktop import _state
from ranktop import _torch_patches as tp

BATCHES, CALLS = 120, 100


def noop(tensor, op=None, group=None, async_op=False):
    return None


def torch_op(tensor, op=None, group=None, async_op=False):
    tensor.add_(0)


def blocking(tensor, op=None, group=None, async_op=False):
    time.sleep(50e-6)


class _NoEmit:
    def emit(self, kind, fields):
        pass


def rotate(modes):
    """{name: (emitter, call)} -> {name: [CPU us per call, one per batch]}."""
    cpu = {name: [] for name in modes}
    clock = time.thread_time_ns
    emitter = _state.state.emitter
    for i in range(BATCHES):
        names = list(modes)
        names = names[i % len(names):] + names[:i % len(names)]
        for name in names:
            em, call, *setup = modes[name]
            for switch in setup:
                switch()
            _state.state.emitter = em
            for _ in range(10):
                call()
            start = clock()
            for _ in range(CALLS):
                call()
            cpu[name].append((clock() - start) / CALLS / 1e3)
            _state.state.emitter = emitter
    return cpu


def hooks_of(pg, native):
    """A switch that registers the world's hooks with the C bodies (True), the Python ones (False)
    or none (None); each pair is made once, by `_pg_hooks.install` itself."""
    group = co.groups.world
    pair = None
    if native is not None:
        made_by = _pg_hooks._native_hook_type
        if not native:
            _pg_hooks._native_hook_type = lambda: None
        pg.unregister_pre_hook(_pg_hooks.HOOK_ID)
        pg.unregister_post_hook(_pg_hooks.HOOK_ID)
        group.hooked = False
        _pg_hooks.install(pg, group)
        _pg_hooks._native_hook_type = made_by
        pair = group.hooks

    def switch():
        pg.unregister_pre_hook(_pg_hooks.HOOK_ID)
        pg.unregister_post_hook(_pg_hooks.HOOK_ID)
        if pair is not None:
            pg.register_pre_hook(_pg_hooks.HOOK_ID, pair[0])
            pg.register_post_hook(_pg_hooks.HOOK_ID, pair[1])
    return switch


def register_hooks(pg, hook):
    pg.register_pre_hook(_pg_hooks.HOOK_ID, hook)
    pg.register_post_hook(_pg_hooks.HOOK_ID, hook)


def added(cpu, name, base):
    return statistics.median(a - b for a, b in zip(cpu[name], cpu[base]))


def hooks(em, pg, t, bodies):
    # What torch issues from C++ (DDP's buckets): `ProcessGroup.allreduce([t]).wait()`, reported by
    # the process group's hooks (their exit polled at the next collective), each body against none.
    pg_call = lambda: pg.allreduce([t]).wait()  # noqa: E731
    hook_modes = {"no hooks": (em, pg_call, hooks_of(pg, None))}
    # torch's own share: its dispatch to a pre and a post hook and their argument objects, with
    # hooks (the builtin `id`) that return at once.
    hook_modes["return at once"] = (em, pg_call, hooks_of(pg, None), lambda: register_hooks(pg, id))
    for body in bodies:
        hook_modes["%s hooks" % body] = (em, pg_call, hooks_of(pg, body == "C"))
    cpu = rotate(hook_modes)
    print("pg.allreduce([t]).wait() (as C++ callers issue it), added by the hooks (us), bare %.2f:"
          % statistics.median(cpu["no hooks"]))
    for name in hook_modes:
        if name != "no hooks":
            print("  %-20s %+7.2f" % (name, added(cpu, name, "no hooks")))
    hooks_of(pg, "C" in bodies)()  # as shipped again


def main():
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:29759", rank=0, world_size=1)
    em = _state.state.emitter
    if em is None:
        raise SystemExit("no emitter: run with RANKTOP_ADDR and the autoload on PYTHONPATH (see the docstring)")
    pg = dist.distributed_c10d._get_default_group()
    pg.unregister_pre_hook(_pg_hooks.HOOK_ID)
    pg.unregister_post_hook(_pg_hooks.HOOK_ID)
    t = torch.ones(4)
    bodies = ("C", "Python") if tp._CollectiveCall is not None else ("Python",)
    if "--hooks" in sys.argv[1:]:
        hooks(em, pg, t, bodies)
        return
    original = dist.all_reduce.__ranktop_original__
    wrap = lambda f, native=False: tp._wrap_collective(f, "all_reduce", "all_reduce", "tensor", native)  # noqa: E731
    pairs = {"a no-op": noop, "tensor.add_(0)": torch_op, "time.sleep(50 us)": blocking, "all_reduce": original}
    modes = {}
    for name, function in pairs.items():
        modes[name] = (em, lambda f=function: f(t))
        for body in bodies:
            wrapped = wrap(function, body == "C")
            modes["%s wrapped %s" % (body, name)] = (em, lambda w=wrapped: w(t))
    cpu = rotate(modes)
    print("emitter: %s" % em)
    print("added by the wrapper (calling thread's CPU, us), by the wrapper's body:")
    print("  %-20s %s  bare" % ("", "  ".join("%7s" % body for body in bodies)))
    for name in pairs:
        figures = "  ".join("%+7.2f" % added(cpu, "%s wrapped %s" % (body, name), name) for body in bodies)
        print("  %-20s %s  %.2f" % (name, figures, statistics.median(cpu[name])))

    hooks(em, pg, t, bodies)

    # Parts of the Python body taken out, around the blocking stand-in. enter, describe and the
    # site are bound when the wrapper is made, so each variant is made with its part replaced.
    real_site, real_describe = rt.caller_site, co.describe
    variants = {}
    for name, site, describe in (("full", real_site, real_describe), ("no call site", lambda frame: None, real_describe),
                                 ("no bytes/dtype", real_site, lambda data: (None, None))):
        rt.caller_site, co.describe = site, describe
        variants[name] = wrap(blocking)
    rt.caller_site, co.describe = real_site, real_describe
    full = variants["full"]
    parts = {"bare": (em, lambda: blocking(t))}
    parts.update({name: (em, lambda w=w: w(t)) for name, w in variants.items()})
    parts["no emit (a no-op emitter)"] = (_NoEmit(), lambda: full(t))
    parts["pass-through (no emitter)"] = (None, lambda: full(t))
    cpu = rotate(parts)
    print("Python body, around time.sleep(50 us), added (us):")
    for name in parts:
        if name != "bare":
            print("  %-28s %+6.2f" % (name, added(cpu, name, "bare")))


if __name__ == "__main__":
    main()
