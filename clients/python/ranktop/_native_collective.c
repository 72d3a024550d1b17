/*
 * `CollectiveCall`: the body of `_torch_patches._wrap_collective`'s wrapper in C. The wrapper stays a
 * Python function (its name, signature and `__wrapped__` are torch's, and torch.compile sees a
 * function), whose only line is `return call(args, kwargs)`.
 *
 * Why by hand: in Python the wrapper added 5.4 us of the training thread's CPU around a no-op and
 * 11.3 us around a real gloo all_reduce (bench/wrapper_cost.py); the target is 5 us a collective.
 * What it spent was bytecode: reading the arguments, the thread's context, the group, bytes and
 * dtype, the call site, two dicts of fields and two emits, each tens of instructions.
 *
 * The steps and the events are the Python wrapper's, field for field and in the same order
 * (`test_the_c_wrapper_emits_what_the_python_wrapper_emits`); the Python one stays for builds
 * without a compiler and for RANKTOP_PYTHON_WRAPPER=1. The rare branches call `_collectives`'s
 * Python functions, so each of their rules keeps its one home there: a group seen for the first
 * time (`groups.record`), something not a tensor or a dtype not named yet (`describe`), earlier ops
 * of a group still pending at an exit (`_close_earlier`). `poll` and `exit_when_done` are done here
 * too, on `_collectives._pending` under its lock, since every async op (DDP's buckets) passes
 * through them, as do the process-group hooks (`_native_pg_hooks.c`). The call site is `_runtime.caller_site`'s
 * text from the same frames, with caches of its own (cleared when `state.skip_prefixes` changes).
 *
 * The adapter's own failures are counted through `state.internal_error` and never reach the
 * caller; errors that are not an Exception (KeyboardInterrupt) go on, as in Python.
 */
#include "_native_collective.h"
#include "_native_error.h"
#include "_native_lock.h"
#include "_native_module.h"

#include <stddef.h>
#include <stdint.h>

#if PY_VERSION_HEX >= 0x030B0000

/* What `setup` hands over once: the thread's context, the rank's state and groups, and the
 * `_collectives` pieces the rare branches use. */
static struct {
    PyObject *context, *state, *groups;
    PyObject *pending;  /* _collectives._pending: changed in place only */
    PyObject *dtypes;   /* _collectives._DTYPES */
    PyObject *pending_lock;  /* _collectives._pending_lock (an EmitLock where built) */
    PyObject *pending_acquire, *pending_release;  /* its bound methods, for any other lock */
    Py_ssize_t max_pending;  /* _collectives.MAX_PENDING */
    PyObject *close_earlier, *describe;
    int force_completion_exits;
} h;

static PyObject *s_depth, *s_want_work, *s_work, *s_emitter, *s_labels, *s_world, *s_by_pg, *s_record;
static PyObject *s_n, *s_name, *s_size, *s_announced, *s_members, *s_hooked, *s_dtype, *s_nbytes, *s_is_cpu;
static PyObject *s_emit, *s_enter_kind, *s_exit_kind, *s_group, *s_op, *s_bytes, *s_site, *s_label, *s_async;
static PyObject *s_skip_prefixes, *s_internal_error, *s_collective, *s_contextlib, *s_async_op;
static PyObject *s_is_completed;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *original;
    PyObject *api;        /* the function's name: where an adapter error is counted */
    PyObject *op;
    PyObject *api_label;  /* the label when no outer API names the call: the function, or None */
    PyObject *data_name;  /* the parameter whose tensors give bytes and dtype, or None */
    Py_ssize_t group_at, async_at, data_at;  /* positions of those parameters, -1 for none */
} CollectiveCall;

/* -- small pieces ---------------------------------------------------------------------------------- */

/* As `except Exception as error: state.internal_error(where, error)`: 0 once counted, -1 (the
 * error still set) for anything that is not an Exception. */
static int count_error(PyObject *where) {
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
    PyObject *error = take_error();
    PyObject *result = PyObject_CallMethodObjArgs(h.state, s_internal_error, where, error ? error : Py_None, NULL);
    Py_XDECREF(result);
    Py_XDECREF(error);
    PyErr_Clear();
    return 0;
}

static int get_long(PyObject *object, PyObject *name, long long *value) {
    PyObject *number = PyObject_GetAttr(object, name);
    if (!number) return -1;
    *value = PyLong_AsLongLong(number);
    Py_DECREF(number);
    return (*value == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int set_long(PyObject *object, PyObject *name, long long value) {
    PyObject *number = PyLong_FromLongLong(value);
    if (!number) return -1;
    int done = PyObject_SetAttr(object, name, number);
    Py_DECREF(number);
    return done;
}

/* Sets the context's depth keeping the error of a call that raised (`finally:`). */
static void set_depth_keeping_error(long long depth) {
    if (!PyErr_Occurred()) {
        if (set_long(h.context, s_depth, depth) < 0) PyErr_Clear();
        return;
    }
    PendingError pending;
    set_aside(&pending);
    if (set_long(h.context, s_depth, depth) < 0) PyErr_Clear();
    restore(&pending);
}

/* args[at] when it is there, else kwargs[name], else `otherwise` (borrowed). */
static PyObject *argument(PyObject *args, PyObject *kwargs, Py_ssize_t at, PyObject *name, PyObject *otherwise) {
    if (kwargs && name) {
        PyObject *found = PyDict_GetItemWithError(kwargs, name);
        if (found || PyErr_Occurred()) return found;
    }
    if (at >= 0 && PyTuple_GET_SIZE(args) > at) return PyTuple_GET_ITEM(args, at);
    return otherwise;
}

/* A call made inside another wrapped call, or with the adapter silent: `_nested`. */
static PyObject *call_nested(CollectiveCall *c, PyObject *args, PyObject *kwargs) {
    long long depth;
    if (get_long(h.context, s_depth, &depth) < 0 || set_long(h.context, s_depth, depth + 1) < 0) return NULL;
    PyObject *result = PyObject_Call(c->original, args, kwargs);
    PendingError pending;
    int raised = result == NULL;
    if (raised) set_aside(&pending);
    if (get_long(h.context, s_depth, &depth) < 0 || set_long(h.context, s_depth, depth - 1) < 0) PyErr_Clear();
    if (raised) restore(&pending);
    return result;
}

/* -- the call site: `_runtime.caller_site` ------------------------------------------------------------ */

/* Direct-mapped caches that own their code objects (so a pointer is never reused while cached):
 * per code object, is it library code; per (code, instruction), the site text. */
#define CODE_CACHE 512
#define SITE_CACHE 1024
static struct { PyObject *code; int skip; } code_cache[CODE_CACHE];
static struct { PyObject *code; int lasti; PyObject *site; } site_cache[SITE_CACHE];
static PyObject *cached_prefixes;  /* the skip_prefixes the caches were filled under */

static void clear_site_caches(void) {
    for (int i = 0; i < CODE_CACHE; i++) Py_CLEAR(code_cache[i].code);
    for (int i = 0; i < SITE_CACHE; i++) {
        Py_CLEAR(site_cache[i].code);
        Py_CLEAR(site_cache[i].site);
    }
}

static size_t pointer_hash(const void *p) { return (size_t)((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL >> 20; }

/* 1 library code (skipped), 0 not, -1 error. */
static int is_library_code(PyCodeObject *code, PyObject *prefixes) {
    size_t i = pointer_hash(code) % CODE_CACHE;
    if (code_cache[i].code == (PyObject *)code) return code_cache[i].skip;
    PyObject *filename = code->co_filename;
    int skip = 0;
    if (PyUnicode_Check(filename)) {
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(prefixes) && !skip; k++) {
            Py_ssize_t match = PyUnicode_Tailmatch(filename, PyTuple_GET_ITEM(prefixes, k), 0, PY_SSIZE_T_MAX, -1);
            if (match < 0) return -1;
            skip = match > 0;
        }
        if (!skip) {
            Py_ssize_t match = PyUnicode_Tailmatch(filename, s_contextlib, 0, PY_SSIZE_T_MAX, 1);
            if (match < 0) return -1;
            skip = match > 0;
        }
    }
    Py_XSETREF(code_cache[i].code, Py_NewRef((PyObject *)code));
    code_cache[i].skip = skip;
    return skip;
}

/* `file.py:88` of a frame's call instruction (new reference). */
static PyObject *site_text(PyFrameObject *frame, PyCodeObject *code) {
    int lasti = PyFrame_GetLasti(frame);
    size_t i = (pointer_hash(code) + (size_t)lasti * 31) % SITE_CACHE;
    if (site_cache[i].code == (PyObject *)code && site_cache[i].lasti == lasti) return Py_NewRef(site_cache[i].site);
    PyObject *filename = code->co_filename;
    Py_ssize_t length = PyUnicode_GET_LENGTH(filename);
    Py_ssize_t slash = PyUnicode_FindChar(filename, '/', 0, length, -1);  /* os.path.basename on POSIX */
    if (slash == -2) return NULL;
    PyObject *base = PyUnicode_Substring(filename, slash + 1, length);
    if (!base) return NULL;
    PyObject *site = PyUnicode_FromFormat("%U:%d", base, PyFrame_GetLineNumber(frame));
    Py_DECREF(base);
    if (!site) return NULL;
    Py_XSETREF(site_cache[i].code, Py_NewRef((PyObject *)code));
    Py_XSETREF(site_cache[i].site, Py_NewRef(site));
    site_cache[i].lasti = lasti;
    return site;
}

/* The site of the first frame outside the library directories and contextlib, from the calling
 * Python frame outwards (the wrapper's own frame is the adapter's: skipped). New reference, None
 * when every frame is library code, NULL with an error. */
static PyObject *caller_site(void) {
    PyObject *prefixes = PyObject_GetAttr(h.state, s_skip_prefixes);
    if (!prefixes) return NULL;
    if (!PyTuple_Check(prefixes)) {
        Py_DECREF(prefixes);
        PyErr_SetString(PyExc_TypeError, "state.skip_prefixes must be a tuple");
        return NULL;
    }
    if (prefixes != cached_prefixes) {
        clear_site_caches();
        Py_XSETREF(cached_prefixes, Py_NewRef(prefixes));
    }
    PyFrameObject *frame = (PyFrameObject *)Py_XNewRef(PyEval_GetFrame());
    PyObject *site = NULL;
    while (frame) {
        PyCodeObject *code = PyFrame_GetCode(frame);
        int skip = is_library_code(code, prefixes);
        if (skip < 0) {
            Py_DECREF(code);
            break;
        }
        if (!skip) {
            site = site_text(frame, code);
            Py_DECREF(code);
            Py_DECREF(frame);
            Py_DECREF(prefixes);
            return site;
        }
        Py_DECREF(code);
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = back;
    }
    Py_XDECREF(frame);
    Py_DECREF(prefixes);
    return PyErr_Occurred() ? NULL : Py_NewRef(Py_None);
}

/* -- what the call is about ------------------------------------------------------------------------- */

/* The Group of a ProcessGroup argument (new reference; None when the call does nothing here). */
static PyObject *record(PyObject *pg) {
    if (pg == Py_None) {
        PyObject *world = PyObject_GetAttr(h.groups, s_world);
        if (!world || world != Py_None) return world;
        Py_DECREF(world);
    } else {
        PyObject *by_pg = PyObject_GetAttr(h.groups, s_by_pg);
        if (!by_pg) return NULL;
        PyObject *found = PyDict_Check(by_pg) ? PyDict_GetItemWithError(by_pg, pg) : NULL;
        Py_XINCREF(found);
        Py_DECREF(by_pg);
        if (found || PyErr_Occurred()) return found;
    }
    return PyObject_CallMethodOneArg(h.groups, s_record, pg);
}

/* A list of tensors (the hooks' `input_tensors`): their bytes summed and the first one's dtype.
 * 1 done, 0 for `describe` in Python to say (no error set), -1 for an error that is not an Exception. */
static int describe_list(PyObject *data, PyObject **nbytes, PyObject **dtype) {
    if (PySequence_Fast_GET_SIZE(data) == 0) return 0;
    PyObject *first = Py_NewRef(PySequence_Fast_GET_ITEM(data, 0));
    PyObject *kind = PyObject_GetAttr(first, s_dtype);
    Py_DECREF(first);
    PyObject *name = kind ? Py_XNewRef(PyDict_GetItemWithError(h.dtypes, kind)) : NULL;
    Py_XDECREF(kind);
    long long total = 0;
    /* The length is read again each time: a tensor's attribute may be Python code. */
    for (Py_ssize_t i = 0; name && i < PySequence_Fast_GET_SIZE(data); i++) {
        PyObject *tensor = Py_NewRef(PySequence_Fast_GET_ITEM(data, i));
        PyObject *size = PyObject_GetAttr(tensor, s_nbytes);
        Py_DECREF(tensor);
        long long value = size ? PyLong_AsLongLong(size) : -1;
        Py_XDECREF(size);
        if (value < 0) Py_CLEAR(name);
        total += value;
    }
    *nbytes = name ? PyLong_FromLongLong(total) : NULL;
    if (*nbytes) {
        *dtype = name;
        return 1;
    }
    Py_XDECREF(name);
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
        PyErr_Clear();
    }
    return 0;
}

/* `describe(data)`: bytes and dtype of a tensor or a list of tensors here; anything else, or a
 * dtype not named yet, in Python. Sets *nbytes and *dtype to new references (None for anything else). */
static int describe(PyObject *data, PyObject **nbytes, PyObject **dtype) {
    *nbytes = *dtype = NULL;
    if (PyList_Check(data) || PyTuple_Check(data)) {
        int done = describe_list(data, nbytes, dtype);
        if (done != 0) return done < 0 ? -1 : 0;
    } else {
        PyObject *kind = PyObject_GetAttr(data, s_dtype);
        PyObject *size = kind ? PyObject_GetAttr(data, s_nbytes) : NULL;
        if (size) {
            PyObject *name = PyDict_GetItemWithError(h.dtypes, kind);
            if (name) {
                Py_DECREF(kind);
                *nbytes = size;
                *dtype = Py_NewRef(name);
                return 0;
            }
        }
        Py_XDECREF(kind);
        Py_XDECREF(size);
        if (PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
            PyErr_Clear();  /* not a tensor (an object, None): neither */
            *nbytes = Py_NewRef(Py_None);
            *dtype = Py_NewRef(Py_None);
            return 0;
        }
    }
    PyObject *pair = PyObject_CallOneArg(h.describe, data);
    if (!pair) return -1;
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
        Py_DECREF(pair);
        PyErr_SetString(PyExc_TypeError, "describe must return (bytes, dtype)");
        return -1;
    }
    *nbytes = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
    *dtype = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
    Py_DECREF(pair);
    return 0;
}

/* `on_device(data)`: the call's tensors live on an accelerator (a blocking call returns queued). */
static int on_device(PyObject *data) {
    if (h.force_completion_exits) return 1;
    PyObject *tensor = data;
    if (PyList_Check(data) || PyTuple_Check(data)) {
        if (PySequence_Fast_GET_SIZE(data) == 0) return 0;
        tensor = PySequence_Fast_GET_ITEM(data, 0);
    }
    PyObject *is_cpu = PyObject_GetAttr(tensor, s_is_cpu);
    int truth = is_cpu ? PyObject_IsTrue(is_cpu) : -1;
    Py_XDECREF(is_cpu);
    if (truth < 0) {
        PyErr_Clear();
        return 0;
    }
    return !truth;
}

/* em.emit(kind, fields): `emit` is looked up on every call (a writer may replace it). */
static int emit(PyObject *em, PyObject *kind, PyObject *fields) {
    PyObject *args[3] = {em, kind, fields};
    PyObject *result = PyObject_VectorcallMethod(s_emit, args, 3, NULL);
    Py_XDECREF(result);
    return result ? 0 : -1;
}

static int put(PyObject *fields, PyObject *name, PyObject *value) {
    return PyDict_SetItem(fields, name, value);
}

/* `_collectives.enter` past its group's ordinal: the `collective.enter` event. */
static int emit_enter(PyObject *em, PyObject *group, PyObject *n, PyObject *op, PyObject *label, PyObject *site, PyObject *nbytes,
                      PyObject *dtype, int is_async) {
    PyObject *fields = PyDict_New();
    if (!fields) return -1;
    PyObject *name = PyObject_GetAttr(group, s_name);
    PyObject *size = name ? PyObject_GetAttr(group, s_size) : NULL;
    PyObject *announced = size ? PyObject_GetAttr(group, s_announced) : NULL;
    int ok = announced && put(fields, s_group, name) == 0 && put(fields, s_n, n) == 0 && put(fields, s_op, op) == 0;
    int truth = ok ? PyObject_IsTrue(size) : -1;
    if (truth > 0) ok = put(fields, s_size, size) == 0;
    else if (truth < 0) ok = 0;
    truth = ok ? PyObject_IsTrue(announced) : -1;
    if (truth == 0) {
        PyObject *members = PyObject_GetAttr(group, s_members);
        ok = members && PyObject_SetAttr(group, s_announced, Py_True) == 0 && put(fields, s_members, members) == 0;
        Py_XDECREF(members);
    } else if (truth < 0) {
        ok = 0;
    }
    if (ok && nbytes != Py_None) ok = put(fields, s_bytes, nbytes) == 0;
    if (ok && (truth = PyObject_IsTrue(dtype)) != 0) ok = truth > 0 && put(fields, s_dtype, dtype) == 0;
    if (ok && (truth = PyObject_IsTrue(site)) != 0) ok = truth > 0 && put(fields, s_site, site) == 0;
    if (ok && (truth = PyObject_IsTrue(label)) != 0) ok = truth > 0 && put(fields, s_label, label) == 0;
    if (ok && is_async) ok = put(fields, s_async, Py_True) == 0;
    Py_XDECREF(name);
    Py_XDECREF(size);
    Py_XDECREF(announced);
    if (ok) ok = emit(em, s_enter_kind, fields) == 0;
    Py_DECREF(fields);
    return ok ? 0 : -1;
}

static int poll(void);

/* `_collectives.enter`: polls pending ops, takes the group's ordinal, emits. Never fails outward
 * (a failure to emit is counted under "collective", as there); *n is the ordinal (new reference). */
static int enter(PyObject *group, PyObject *op, PyObject *label, PyObject *site, PyObject *nbytes, PyObject *dtype,
                 int is_async, PyObject **n) {
    *n = NULL;
    if (PyList_GET_SIZE(h.pending) && poll() < 0) return -1;
    long long ordinal;
    if (get_long(group, s_n, &ordinal) < 0 || set_long(group, s_n, ordinal + 1) < 0) return -1;
    *n = PyLong_FromLongLong(ordinal);
    if (!*n) return -1;
    PyObject *em = PyObject_GetAttr(h.state, s_emitter);
    int emitted = em ? (em == Py_None ? 0 : emit_enter(em, group, *n, op, label, site, nbytes, dtype, is_async)) : -1;
    Py_XDECREF(em);
    if (emitted < 0 && count_error(s_collective) < 0) {
        Py_CLEAR(*n);
        return -1;
    }
    return 0;
}

/* `_collectives.exit`. */
static int leave(PyObject *group, PyObject *n, PyObject *op) {
    PyObject *em = PyObject_GetAttr(h.state, s_emitter);
    if (!em) return -1;
    int ok = 1;
    if (em != Py_None) {
        PyObject *fields = PyDict_New();
        PyObject *name = fields ? PyObject_GetAttr(group, s_name) : NULL;
        ok = name && put(fields, s_group, name) == 0 && put(fields, s_n, n) == 0 && put(fields, s_op, op) == 0 &&
             emit(em, s_exit_kind, fields) == 0;
        Py_XDECREF(name);
        Py_XDECREF(fields);
    }
    Py_DECREF(em);
    if (ok && PyList_GET_SIZE(h.pending)) {
        PyObject *args[2] = {group, n};
        PyObject *done = PyObject_Vectorcall(h.close_earlier, args, 2, NULL);
        ok = done != NULL;
        Py_XDECREF(done);
    }
    return ok ? 0 : -1;
}

/* -- async ops pending: `_collectives.exit_when_done` and `poll`, on the same list under the same lock */

static int lock_pending(void) { return lock_take(h.pending_lock, h.pending_acquire); }

/* Releases keeping an error that is set (`with _pending_lock:` leaves on an exception too). */
static int unlock_pending(void) {
    PendingError pending;
    int raised = PyErr_Occurred() != NULL;
    if (raised) set_aside(&pending);
    int released = lock_give(h.pending_lock, h.pending_release) == 0;
    if (raised) {
        PyErr_Clear();
        restore(&pending);
        return -1;
    }
    return released ? 0 : -1;
}

static int exit_when_done(PyObject *work, PyObject *group, PyObject *n, PyObject *op, int blocking) {
    PyObject *thread = blocking ? PyLong_FromUnsignedLong(PyThread_get_thread_ident()) : Py_NewRef(Py_None);
    PyObject *entry = thread ? PyTuple_Pack(5, work, group, n, op, thread) : NULL;
    Py_XDECREF(thread);
    if (!entry || lock_pending() < 0) {
        Py_XDECREF(entry);
        return -1;
    }
    int ok = 1;
    if (PyList_GET_SIZE(h.pending) >= h.max_pending) ok = PyList_SetSlice(h.pending, 0, 1, NULL) == 0;
    if (ok) ok = PyList_Append(h.pending, entry) == 0;
    Py_DECREF(entry);
    return unlock_pending() < 0 || !ok ? -1 : 0;
}

/* 1 when a pending entry's op is over: the thread that waited in it did something else, or its
 * work says so (or cannot say: not held). -1 for an error that is not an Exception. */
static int finished(PyObject *entry, unsigned long me) {
    PyObject *thread = PyTuple_GET_ITEM(entry, 4);
    if (thread != Py_None) {
        unsigned long waiter = PyLong_AsUnsignedLong(thread);
        if (waiter == (unsigned long)-1 && PyErr_Occurred()) return -1;
        return waiter == me;
    }
    PyObject *completed = PyObject_CallMethodNoArgs(PyTuple_GET_ITEM(entry, 0), s_is_completed);
    int truth = completed ? PyObject_IsTrue(completed) : -1;
    Py_XDECREF(completed);
    if (truth >= 0) return truth;
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
    PyErr_Clear();
    return 1;
}

/* `poll()`: the exits of pending async ops that completed, emitted outside the lock (an exit
 * closes the earlier ops of its group, which takes it again). */
static int poll(void) {
    unsigned long me = PyThread_get_thread_ident();
    if (lock_pending() < 0) return -1;
    /* The lists are made only once an op is over: until then every entry stays where it is (the
     * common poll finds nothing over, or only the ops before the first still in flight). */
    PyObject *done = NULL, *left = NULL;
    Py_ssize_t first_done = -1;
    int ok = 1;
    for (Py_ssize_t i = 0; ok && i < PyList_GET_SIZE(h.pending); i++) {
        PyObject *entry = Py_NewRef(PyList_GET_ITEM(h.pending, i));
        int over = PyTuple_Check(entry) && PyTuple_GET_SIZE(entry) == 5 ? finished(entry, me) : 1;
        if (over < 0) {
            ok = 0;
        } else if (over) {
            if (!done && (done = PyList_New(0)) != NULL) first_done = i;
            ok = done && PyList_Append(done, entry) == 0;
        } else if (done) {
            if (!left) left = PyList_New(0);
            ok = left && PyList_Append(left, entry) == 0;
        }
        Py_DECREF(entry);
    }
    /* Kept: the entries before the first that was over, then `left`. */
    if (ok && done) ok = PyList_SetSlice(h.pending, first_done, PY_SSIZE_T_MAX, left) == 0;
    Py_XDECREF(left);
    if (unlock_pending() < 0) ok = 0;
    if (!done) return ok ? 0 : -1;
    for (Py_ssize_t i = 0; ok && i < PyList_GET_SIZE(done); i++) {
        PyObject *entry = PyList_GET_ITEM(done, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 5) continue;
        PyObject *group = PyTuple_GET_ITEM(entry, 1), *n = PyTuple_GET_ITEM(entry, 2), *op = PyTuple_GET_ITEM(entry, 3);
        if (group == Py_None) {
            PyObject *result = PyObject_CallOneArg(op, n);  /* another kind of exit (a barrier's) */
            ok = result != NULL;
            Py_XDECREF(result);
        } else {
            ok = leave(group, n, op) == 0;
        }
    }
    Py_DECREF(done);
    return ok ? 0 : -1;
}

/* -- the call ------------------------------------------------------------------------------------------ */

typedef struct {
    PyObject *group;  /* NULL: the call is not reported */
    PyObject *n;
    int is_async;
    int track;        /* exit when the call's Work completes (a blocking call on an accelerator) */
} Entered;

/* Everything before the call; 0 (e->group NULL when not reported), or -1 for an error that is not
 * the adapter's to count. */
static int before(CollectiveCall *c, PyObject *args, PyObject *kwargs, Entered *e) {
    PyObject *nbytes = NULL, *dtype = NULL, *site = NULL, *labels = NULL;
    PyObject *pg = argument(args, kwargs, c->group_at, s_group, Py_None);
    PyObject *async_value = pg ? argument(args, kwargs, c->async_at, s_async_op, Py_False) : NULL;
    if (!async_value) goto failed;
    e->group = record(pg);
    if (!e->group) goto failed;
    if (e->group == Py_None) {
        Py_CLEAR(e->group);
        return 0;
    }
    e->is_async = PyObject_IsTrue(async_value);
    if (e->is_async < 0) goto failed;
    if (c->data_at < 0) {
        nbytes = Py_NewRef(Py_None);
        dtype = Py_NewRef(Py_None);
    } else {
        PyObject *tensors = argument(args, kwargs, c->data_at, c->data_name, Py_None);
        if (!tensors || describe(tensors, &nbytes, &dtype) < 0) goto failed;
        if (!e->is_async) {
            PyObject *hooked = PyObject_GetAttr(e->group, s_hooked);
            int truth = hooked ? PyObject_IsTrue(hooked) : -1;
            Py_XDECREF(hooked);
            if (truth < 0) goto failed;
            e->track = truth && on_device(tensors);
        }
    }
    labels = PyObject_GetAttr(h.state, s_labels);
    if (!labels) goto failed;
    PyObject *label = (PyList_Check(labels) && PyList_GET_SIZE(labels)) ? PyList_GET_ITEM(labels, 0) : c->api_label;
    site = caller_site();
    if (!site || enter(e->group, c->op, label, site, nbytes, dtype, e->is_async, &e->n) < 0) goto failed;
    Py_DECREF(labels);
    Py_DECREF(site);
    Py_DECREF(nbytes);
    Py_DECREF(dtype);
    return 0;
failed:
    Py_XDECREF(labels);
    Py_XDECREF(site);
    Py_XDECREF(nbytes);
    Py_XDECREF(dtype);
    Py_CLEAR(e->group);
    Py_CLEAR(e->n);
    e->track = 0;
    return count_error(c->api);
}

/* Everything after a call that returned. */
static int after(CollectiveCall *c, Entered *e, PyObject *result) {
    int ok;
    PyObject *work = NULL;
    if (e->track && (work = PyObject_GetAttr(h.context, s_work)) != NULL && work != Py_None) {
        ok = PyObject_SetAttr(h.context, s_work, Py_None) == 0 && exit_when_done(work, e->group, e->n, c->op, 0) == 0;
    } else if (e->track && !work) {
        ok = 0;
    } else if (!e->is_async) {
        ok = leave(e->group, e->n, c->op) == 0;
    } else if (result != Py_None) {
        ok = exit_when_done(result, e->group, e->n, c->op, 0) == 0;
    } else {
        ok = 1;
    }
    Py_XDECREF(work);
    return ok ? 0 : count_error(c->api);
}

static PyObject *collective_call(PyObject *callable, PyObject *const *argv, size_t nargsf, PyObject *kwnames) {
    CollectiveCall *c = (CollectiveCall *)callable;
    if (kwnames || PyVectorcall_NARGS(nargsf) != 2 || !PyTuple_Check(argv[0]) ||
        (argv[1] != Py_None && !PyDict_Check(argv[1]))) {
        PyErr_SetString(PyExc_TypeError, "CollectiveCall takes (args tuple, kwargs dict or None)");
        return NULL;
    }
    PyObject *args = argv[0];
    PyObject *kwargs = (argv[1] != Py_None && PyDict_GET_SIZE(argv[1])) ? argv[1] : NULL;

    long long depth;
    if (get_long(h.context, s_depth, &depth) < 0) return NULL;
    PyObject *em = PyObject_GetAttr(h.state, s_emitter);
    if (!em) return NULL;
    int silent = depth != 0 || em == Py_None;
    Py_DECREF(em);
    if (silent) return call_nested(c, args, kwargs);

    Entered e = {NULL, NULL, 0, 0};
    if (before(c, args, kwargs, &e) < 0) return NULL;
    if (e.track && (PyObject_SetAttr(h.context, s_want_work, Py_True) < 0 ||
                    PyObject_SetAttr(h.context, s_work, Py_None) < 0)) {
        PyErr_Clear();
    }
    if (set_long(h.context, s_depth, 1) < 0) PyErr_Clear();
    PyObject *result = PyObject_Call(c->original, args, kwargs);
    set_depth_keeping_error(0);
    if (e.track) {
        PendingError pending;
        int raised = result == NULL;
        if (raised) set_aside(&pending);
        if (PyObject_SetAttr(h.context, s_want_work, Py_False) < 0) PyErr_Clear();
        if (raised) restore(&pending);
    }
    /* No exit when the call raised: the rank never saw the others arrive. */
    if (result && e.group && after(c, &e, result) < 0) Py_CLEAR(result);
    Py_XDECREF(e.group);
    Py_XDECREF(e.n);
    return result;
}

/* -- shared with the process-group hooks (`_native_collective.h`) --------------------------------- */

PyObject *collective_context(void) { return h.context; }
PyObject *collective_state(void) { return h.state; }
int collective_count_error(PyObject *where) { return count_error(where); }
int collective_describe(PyObject *data, PyObject **nbytes, PyObject **dtype) { return describe(data, nbytes, dtype); }
PyObject *collective_caller_site(void) { return caller_site(); }

int collective_enter(PyObject *group, PyObject *op, PyObject *label, PyObject *site, PyObject *nbytes,
                     PyObject *dtype, int is_async, PyObject **n) {
    return enter(group, op, label, site, nbytes, dtype, is_async, n);
}

int collective_exit_when_done(PyObject *work, PyObject *group, PyObject *n, PyObject *op, int blocking) {
    return exit_when_done(work, group, n, op, blocking);
}

/* -- the type and its setup -------------------------------------------------------------------------- */

static PyObject *collective_call_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *original, *api, *op, *api_label, *data_name;
    Py_ssize_t group_at, async_at, data_at;
    static char *names[] = {"original", "api", "op", "api_label", "data_name", "group_at", "async_at", "data_at", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OUUOOnnn:CollectiveCall", names, &original, &api, &op, &api_label,
                                     &data_name, &group_at, &async_at, &data_at)) {
        return NULL;
    }
    if (!h.context) {
        PyErr_SetString(PyExc_RuntimeError, "CollectiveCall: call ranktop._native.setup_collectives first");
        return NULL;
    }
    if (!PyCallable_Check(original) || (api_label != Py_None && !PyUnicode_Check(api_label)) ||
        (data_name != Py_None && !PyUnicode_Check(data_name)) || (data_at >= 0 && data_name == Py_None)) {
        PyErr_SetString(PyExc_TypeError, "CollectiveCall: a callable, str labels, and a data name with its position");
        return NULL;
    }
    CollectiveCall *c = (CollectiveCall *)type->tp_alloc(type, 0);
    if (!c) return NULL;
    c->vectorcall = collective_call;
    c->original = Py_NewRef(original);
    c->api = Py_NewRef(api);
    c->op = Py_NewRef(op);
    c->api_label = Py_NewRef(api_label);
    c->data_name = data_name == Py_None ? NULL : Py_NewRef(data_name);
    c->group_at = group_at;
    c->async_at = async_at;
    c->data_at = data_at;
    return (PyObject *)c;
}

static int collective_call_traverse(PyObject *self, visitproc visit, void *arg) {
    CollectiveCall *c = (CollectiveCall *)self;
    Py_VISIT(c->original);
    Py_VISIT(c->api_label);
    return 0;
}

static int collective_call_clear(PyObject *self) {
    CollectiveCall *c = (CollectiveCall *)self;
    Py_CLEAR(c->original);
    Py_CLEAR(c->api);
    Py_CLEAR(c->op);
    Py_CLEAR(c->api_label);
    Py_CLEAR(c->data_name);
    return 0;
}

static void collective_call_dealloc(PyObject *self) {
    PyObject_GC_UnTrack(self);
    collective_call_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject CollectiveCallType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ranktop._native.CollectiveCall",
    .tp_doc = "A collective wrapper's body: call(args, kwargs) reports the call and makes it (_torch_patches).",
    .tp_basicsize = sizeof(CollectiveCall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = collective_call_new,
    .tp_dealloc = collective_call_dealloc,
    .tp_traverse = collective_call_traverse,
    .tp_clear = collective_call_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(CollectiveCall, vectorcall),
};

/* `setup_collectives(context, state, groups, collectives_module)`, once, before any CollectiveCall. */
static PyObject *setup_collectives(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *context, *state, *groups, *collectives;
    if (!PyArg_ParseTuple(args, "OOOO:setup_collectives", &context, &state, &groups, &collectives)) return NULL;
    PyObject *pending = PyObject_GetAttrString(collectives, "_pending");
    PyObject *dtypes = PyObject_GetAttrString(collectives, "_DTYPES");
    PyObject *pending_lock = PyObject_GetAttrString(collectives, "_pending_lock");
    PyObject *acquire = pending_lock ? PyObject_GetAttrString(pending_lock, "acquire") : NULL;
    PyObject *release = acquire ? PyObject_GetAttrString(pending_lock, "release") : NULL;
    PyObject *max_pending = PyObject_GetAttrString(collectives, "MAX_PENDING");
    Py_ssize_t most = max_pending ? PyLong_AsSsize_t(max_pending) : -1;
    Py_XDECREF(max_pending);
    PyObject *close_earlier = PyObject_GetAttrString(collectives, "_close_earlier");
    PyObject *describe = PyObject_GetAttrString(collectives, "describe");
    PyObject *force = PyObject_GetAttrString(collectives, "FORCE_COMPLETION_EXITS");
    int force_truth = force ? PyObject_IsTrue(force) : -1;
    Py_XDECREF(force);
    if (force_truth < 0 || most < 1 || !pending || !dtypes || !release || !close_earlier || !describe ||
        !PyList_Check(pending) || !PyDict_Check(dtypes)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "setup_collectives: not the _collectives module");
        Py_XDECREF(pending);
        Py_XDECREF(dtypes);
        Py_XDECREF(pending_lock);
        Py_XDECREF(acquire);
        Py_XDECREF(release);
        Py_XDECREF(close_earlier);
        Py_XDECREF(describe);
        return NULL;
    }
    Py_XSETREF(h.context, Py_NewRef(context));
    Py_XSETREF(h.state, Py_NewRef(state));
    Py_XSETREF(h.groups, Py_NewRef(groups));
    Py_XSETREF(h.pending, pending);
    Py_XSETREF(h.dtypes, dtypes);
    Py_XSETREF(h.pending_lock, pending_lock);
    Py_XSETREF(h.pending_acquire, acquire);
    Py_XSETREF(h.pending_release, release);
    h.max_pending = most;
    Py_XSETREF(h.close_earlier, close_earlier);
    Py_XSETREF(h.describe, describe);
    h.force_completion_exits = force_truth;
    Py_RETURN_NONE;
}

/* `caller_site()`: the C wrapper's site from the calling frame outwards (the tests compare it with
 * `_runtime.caller_site`). */
static PyObject *native_caller_site(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored)) {
    if (!h.state) {
        PyErr_SetString(PyExc_RuntimeError, "caller_site: call ranktop._native.setup_collectives first");
        return NULL;
    }
    return caller_site();
}

static PyMethodDef collective_methods[] = {
    {"setup_collectives", setup_collectives, METH_VARARGS, "Hands the collective wrappers the adapter's context, state, groups and _collectives."},
    {"caller_site", native_caller_site, METH_NOARGS, "The collective wrappers' call site from the calling frame outwards."},
    {NULL, NULL, 0, NULL},
};

int add_collective_call(PyObject *module) {
    const InternedName names[] = {
        {&s_depth, "depth"}, {&s_want_work, "want_work"}, {&s_work, "work"}, {&s_emitter, "emitter"},
        {&s_labels, "labels"}, {&s_world, "world"}, {&s_by_pg, "by_pg"}, {&s_record, "record"}, {&s_n, "n"},
        {&s_name, "name"}, {&s_size, "size"}, {&s_announced, "announced"}, {&s_members, "members"},
        {&s_hooked, "hooked"}, {&s_dtype, "dtype"}, {&s_nbytes, "nbytes"}, {&s_is_cpu, "is_cpu"}, {&s_emit, "emit"},
        {&s_enter_kind, "collective.enter"}, {&s_exit_kind, "collective.exit"}, {&s_group, "group"}, {&s_op, "op"},
        {&s_bytes, "bytes"}, {&s_site, "site"}, {&s_label, "label"}, {&s_async, "async"}, {&s_async_op, "async_op"},
        {&s_skip_prefixes, "skip_prefixes"}, {&s_internal_error, "internal_error"}, {&s_collective, "collective"},
        {&s_contextlib, "contextlib.py"},
        {&s_is_completed, "is_completed"},
    };
    if (intern_names(names, sizeof names / sizeof names[0]) < 0 || PyModule_AddFunctions(module, collective_methods) < 0) {
        return -1;
    }
    return add_type(module, "CollectiveCall", &CollectiveCallType);
}

#else

int add_collective_call(PyObject *Py_UNUSED(module)) { return 0; } /* before 3.11 (no frame API): the Python wrapper */

#endif
