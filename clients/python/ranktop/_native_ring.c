/*
 * `RingWriter`: `SharedMemoryEmitter.emit` in C for the events a training loop emits all the time
 * (progress, barriers, collectives, trigger checks): the timestamp, the record, the ring slots,
 * `head` and the state block, in one call on the training thread.
 *
 * Why by hand: in Python that emit cost the training thread 5-6 us an event even with the record
 * encoded in C (docs/benchmarks.md); the target is 1 us. What remained was the interpreter: the
 * stores through memoryviews, `pack_into`, the lock and the state rules, tens of bytecodes each.
 *
 * One home for the writer's state: it stays in the emitter's `__dict__` (`_head`, `_barrier_since`,
 * `_collective_since`, `_open_collective`, `errors`), read and written here under the emitter's
 * own lock (an `EmitLock`, `_native_lock.c`), so the Python paths see and keep the same state. The layout and each
 * state rule are `_shm.py`'s, and the bytes written are the same, zero padding included
 * (`test_the_c_ring_writer_leaves_the_python_writers_bytes`).
 *
 * What it hands to Python: before the clock is read, phases and `bye` (their state is a Python
 * list) and any call that is not `(str, dict | None)`; after it, an event whose record needs the
 * Python encoder (a kind or field name not cached yet, another value type), through
 * `_emit_at(kind, us, seq, fields)` so that the event keeps the time and `seq` taken here.
 *
 * Stores: a slot's stamp 0, a release fence, the slot, then its final stamp with release
 * semantics; `head` after the slots, also with release. So a reader's before-and-after stamp check
 * sees every copy that overlapped a write on weakly ordered CPUs too (x86-64 orders the stores
 * anyway). A state record is the same with its version: odd first, even last.
 */
#include "_native_error.h"
#include "_native_json.h"
#include "_native_lock.h"
#include "_native_module.h"
#include "_native_ring.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if PY_VERSION_HEX >= 0x03090000

/* The rank area (docs/protocol.md, "Shared-memory layout"): a 4,096-byte state block, then the
 * ring's 256-byte slots, each [u64 stamp][u32 length][u16 slots][u16 0][240 bytes]. */
#define STATE_BYTES 4096
#define SLOT_BYTES 256
#define SLOT_DATA 240
/* State block words (u64 indices) and records ([u64 version][u64 length][bytes]). */
#define W_HEAD 0
#define W_TS 3
#define W_PROGRESS_TS 4
#define W_SEQ 5
#define W_STEP 6
#define W_TOTAL 7
#define W_WAIT 9
#define R_PROGRESS 208
#define R_PROGRESS_BYTES 1008
#define R_BARRIER 336
#define R_COLLECTIVE 400
#define R_WAIT_BYTES 496

typedef enum { K_RING_ONLY, K_PROGRESS, K_BARRIER_ENTER, K_BARRIER_EXIT, K_COLLECTIVE_ENTER, K_COLLECTIVE_EXIT, K_PYTHON } Kind;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *state;        /* the emitter's __dict__ */
    PyObject *lock;         /* its lock: an EmitLock (two C calls), else its bound acquire and release */
    PyObject *acquire;
    PyObject *release;
    PyObject *counter;      /* its itertools.count of seq */
    PyObject *prefixes;     /* its encoder caches */
    PyObject *keys;
    PyObject *metric_keys;
    PyObject *emit_python;  /* SharedMemoryEmitter.emit, bound */
    PyObject *emit_at;      /* SharedMemoryEmitter._emit_at, bound */
    PyObject *clock;        /* None: CLOCK_REALTIME; else a callable returning ns (the tests' clock) */
    Py_buffer view;         /* the rank area's mapping, held until `release()` */
    int has_view;
    char *area;
    uint64_t mask;
    uint64_t max_slots;
} RingWriter;

static PyObject *s_head, *s_barrier_since, *s_collective_since, *s_open_collective, *s_errors;
static PyObject *s_step, *s_total, *s_async, *s_group, *s_n;

static struct {
    const char *text;
    Kind kind;
    PyObject *name;
} kinds[] = {
    {"progress", K_PROGRESS, NULL},
    {"barrier.enter", K_BARRIER_ENTER, NULL},
    {"barrier.exit", K_BARRIER_EXIT, NULL},
    {"collective.enter", K_COLLECTIVE_ENTER, NULL},
    {"collective.exit", K_COLLECTIVE_EXIT, NULL},
    {"phase.enter", K_PYTHON, NULL},
    {"phase.exit", K_PYTHON, NULL},
    {"bye", K_PYTHON, NULL},
};
#define KIND_COUNT ((int)(sizeof kinds / sizeof kinds[0]))
static PyObject *kind_table;  /* name -> Kind */

static Kind kind_of(PyObject *kind) {
    for (int i = 0; i < KIND_COUNT; i++) {
        if (kind == kinds[i].name) return kinds[i].kind;  /* a literal in the caller: interned */
    }
    /* Another str of the same text, or a kind with no state (one hash lookup, not eight compares). */
    PyObject *found = PyDict_GetItemWithError(kind_table, kind);
    if (!found) {
        PyErr_Clear();
        return K_RING_ONLY;
    }
    return (Kind)PyLong_AsLong(found);
}

static inline uint64_t *words(RingWriter *w) { return (uint64_t *)w->area; }

static inline void store_double(RingWriter *w, Py_ssize_t index, double value) {
    memcpy(w->area + index * 8, &value, sizeof value);
}

/* Stamp or version first (odd, or 0), then a fence: nothing after it becomes visible before it. */
static inline void open_word(uint64_t *word, uint64_t value) {
    __atomic_store_n(word, value, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void close_word(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }

/* `_write_ring` and the one-slot `pack_into` of `_shm.py`: one slot zero-padded, or k slots each
 * with its chunk only. */
static void write_slots(RingWriter *w, uint64_t head, uint64_t k, const char *data, Py_ssize_t n) {
    for (uint64_t j = 0; j < k; j++) {
        uint64_t index = head + j;
        char *slot = w->area + STATE_BYTES + ((index & w->mask) * SLOT_BYTES);
        uint64_t *slot_words = (uint64_t *)slot;
        open_word(&slot_words[0], 0);
        slot_words[1] = j == 0 ? ((uint64_t)n | k << 32) : 0;
        Py_ssize_t from = (Py_ssize_t)j * SLOT_DATA;
        Py_ssize_t chunk = n - from < SLOT_DATA ? n - from : SLOT_DATA;
        memcpy(slot + 16, data + from, chunk);
        if (k == 1) memset(slot + 16 + chunk, 0, SLOT_DATA - chunk);
        close_word(&slot_words[0], index + 1);
    }
}

/* `_write_record`: version odd, length, the bytes (no padding), version even. */
static void write_record(RingWriter *w, Py_ssize_t index, const char *data, Py_ssize_t n) {
    uint64_t *q = words(w);
    uint64_t version = q[index] | 1;  /* a writer that died in between may have left it odd */
    open_word(&q[index], version);
    q[index + 1] = (uint64_t)n;
    if (n) memcpy(w->area + index * 8 + 16, data, n);
    close_word(&q[index], version + 1);
}

/* The `_RECORD_1008` / `_RECORD_496` `pack_into`: the record's whole size written, the bytes then
 * zeros; an empty record when the bytes do not fit. */
static void write_padded_record(RingWriter *w, Py_ssize_t index, Py_ssize_t size, const char *data, Py_ssize_t n) {
    uint64_t *q = words(w);
    uint64_t version = q[index] | 1;
    open_word(&q[index], version);
    char *bytes = w->area + index * 8 + 16;
    if (n <= size) {
        q[index + 1] = (uint64_t)n;
        memcpy(bytes, data, n);
        memset(bytes + n, 0, size - n);
    } else {
        q[index + 1] = 0;
        memset(bytes, 0, size);
    }
    close_word(&q[index], version + 1);
}

static int set_state(RingWriter *w, PyObject *name, PyObject *value) {
    if (!value) return -1;
    int status = PyDict_SetItem(w->state, name, value);
    Py_DECREF(value);
    return status;
}

static int set_double(RingWriter *w, PyObject *name, double value) {
    return set_state(w, name, PyFloat_FromDouble(value));
}

/* A float of the state (0.0 when missing); -1 with an error set when it is not a number. */
static int get_double(RingWriter *w, PyObject *name, double *value) {
    PyObject *found = PyDict_GetItemWithError(w->state, name);
    if (!found) {
        *value = 0.0;
        return PyErr_Occurred() ? -1 : 0;
    }
    *value = PyFloat_AsDouble(found);
    return *value == -1.0 && PyErr_Occurred() ? -1 : 0;
}

/* fields.get(name), borrowed; None when absent (and for fields None). */
static PyObject *field(PyObject *fields, PyObject *name) {
    if (fields == Py_None) return Py_None;
    PyObject *found = PyDict_GetItemWithError(fields, name);
    return found ? found : (PyErr_Occurred() ? NULL : Py_None);
}

/* `value if type(value) is int and -1 <= value < 1 << 63 else -1` */
static int64_t step_word(PyObject *value) {
    if (!PyLong_CheckExact(value)) return -1;
    int overflow = 0;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || number < -1) {
        PyErr_Clear();
        return -1;
    }
    return number;
}

static int on_progress(RingWriter *w, PyObject *fields, const char *data, Py_ssize_t n, double ts) {
    PyObject *step = field(fields, s_step), *total = step ? field(fields, s_total) : NULL;
    if (!total) return -1;
    uint64_t *q = words(w);
    q[W_STEP] = (uint64_t)step_word(step);
    q[W_TOTAL] = (uint64_t)step_word(total);
    store_double(w, W_PROGRESS_TS, ts);
    write_padded_record(w, R_PROGRESS, R_PROGRESS_BYTES, data, n);
    /* A step ends every blocking collective the rank was in (the model's rule too). */
    PyObject *open = PyDict_GetItemWithError(w->state, s_open_collective);
    if (!open) return PyErr_Occurred() ? -1 : 0;
    if (open == Py_None) return 0;
    if (PyDict_SetItem(w->state, s_open_collective, Py_None) < 0 || set_double(w, s_collective_since, 0.0) < 0) return -1;
    write_record(w, R_COLLECTIVE, NULL, 0);
    double barrier;
    if (get_double(w, s_barrier_since, &barrier) < 0) return -1;
    store_double(w, W_WAIT, barrier);
    return 0;
}

/* The wait-since word while a barrier and a collective may both be open: the older one. */
static void store_wait_since(RingWriter *w, double other, double ts) {
    store_double(w, W_WAIT, other != 0.0 && other < ts ? other : ts);
}

static int on_barrier_enter(RingWriter *w, const char *data, Py_ssize_t n, double ts) {
    write_padded_record(w, R_BARRIER, R_WAIT_BYTES, data, n);
    double collective;
    if (set_double(w, s_barrier_since, ts) < 0 || get_double(w, s_collective_since, &collective) < 0) return -1;
    store_wait_since(w, collective, ts);
    return 0;
}

static int on_barrier_exit(RingWriter *w) {
    write_record(w, R_BARRIER, NULL, 0);
    double collective;
    if (set_double(w, s_barrier_since, 0.0) < 0 || get_double(w, s_collective_since, &collective) < 0) return -1;
    store_double(w, W_WAIT, collective);
    return 0;
}

static int on_collective_enter(RingWriter *w, PyObject *fields, const char *data, Py_ssize_t n, double ts) {
    if (fields == Py_None || PyDict_GET_SIZE(fields) == 0) return 0;
    PyObject *is_async = field(fields, s_async);
    if (!is_async) return -1;
    int in_flight = PyObject_IsTrue(is_async);
    if (in_flight < 0) return -1;
    if (in_flight) return 0;  /* an async op is in flight, not waited in */
    PyObject *group = field(fields, s_group), *number = group ? field(fields, s_n) : NULL;
    if (!number) return -1;
    write_padded_record(w, R_COLLECTIVE, R_WAIT_BYTES, data, n);
    double barrier;
    if (set_state(w, s_open_collective, PyTuple_Pack(2, group, number)) < 0 || set_double(w, s_collective_since, ts) < 0 ||
        get_double(w, s_barrier_since, &barrier) < 0) {
        return -1;
    }
    store_wait_since(w, barrier, ts);
    return 0;
}

/* Python's `a != b`, as a C truth value; -1 with an error set. */
static int differs(PyObject *a, PyObject *b) {
    PyObject *result = PyObject_RichCompare(a, b, Py_NE);
    if (!result) return -1;
    int truth = PyObject_IsTrue(result);
    Py_DECREF(result);
    return truth;
}

static int on_collective_exit(RingWriter *w, PyObject *fields) {
    PyObject *open = PyDict_GetItemWithError(w->state, s_open_collective);
    if (!open) return PyErr_Occurred() ? -1 : 0;
    if (open == Py_None || fields == Py_None || PyDict_GET_SIZE(fields) == 0) return 0;
    if (!PyTuple_Check(open) || PyTuple_GET_SIZE(open) != 2) return 0;
    Py_INCREF(open);  /* the state's own reference goes when it is replaced below */
    int status = -1;
    PyObject *group = field(fields, s_group), *exit_n = group ? field(fields, s_n) : NULL;
    if (!exit_n) goto done;
    int other_group = differs(group, PyTuple_GET_ITEM(open, 0));
    if (other_group) {
        status = other_group < 0 ? -1 : 0;
        goto done;
    }
    PyObject *open_n = PyTuple_GET_ITEM(open, 1);
    int other_n = differs(exit_n, open_n);
    if (other_n < 0) goto done;
    if (other_n) {
        /* Leaving n means the rank left every earlier collective of the group too. */
        if (!PyLong_CheckExact(exit_n) || !PyLong_CheckExact(open_n)) {
            status = 0;
            goto done;
        }
        int later = PyObject_RichCompareBool(exit_n, open_n, Py_GT);
        if (later <= 0) {
            status = later;
            goto done;
        }
    }
    write_record(w, R_COLLECTIVE, NULL, 0);
    double barrier;
    if (PyDict_SetItem(w->state, s_open_collective, Py_None) < 0 || set_double(w, s_collective_since, 0.0) < 0 ||
        get_double(w, s_barrier_since, &barrier) < 0) {
        goto done;
    }
    store_double(w, W_WAIT, barrier);
    status = 0;
done:
    Py_DECREF(open);
    return status;
}

/* Under the lock: the slots, `head`, the state words and this kind's records. 1 done (written, or
 * nothing to write: the emitter is closed), 0 a record the ring cannot hold (Python's to count),
 * -1 with an error set. */
static int write_event(RingWriter *w, Kind kind, PyObject *fields, const char *data, Py_ssize_t n, long long us,
                       long long seq) {
    if (!w->has_view) return 1;  /* closed: `stop` released the mapping (under the lock) */
    uint64_t k = n <= SLOT_DATA ? 1 : (uint64_t)(n + SLOT_DATA - 1) / SLOT_DATA;
    if (k > w->max_slots) return 0;
    PyObject *head_object = PyDict_GetItemWithError(w->state, s_head);
    if (!head_object) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "the emitter has no _head");
        return -1;
    }
    uint64_t head = PyLong_AsUnsignedLongLong(head_object);
    if (head == (uint64_t)-1 && PyErr_Occurred()) return -1;
    if (set_state(w, s_head, PyLong_FromUnsignedLongLong(head + k)) < 0) return -1;  /* reserved */
    write_slots(w, head, k, data, n);
    uint64_t *q = words(w);
    close_word(&q[W_HEAD], head + k);
    double ts = (double)us / 1e6;
    store_double(w, W_TS, ts);
    q[W_SEQ] = (uint64_t)seq;
    switch (kind) {
    case K_PROGRESS: return on_progress(w, fields, data, n, ts) < 0 ? -1 : 1;
    case K_BARRIER_ENTER: return on_barrier_enter(w, data, n, ts) < 0 ? -1 : 1;
    case K_BARRIER_EXIT: return on_barrier_exit(w) < 0 ? -1 : 1;
    case K_COLLECTIVE_ENTER: return on_collective_enter(w, fields, data, n, ts) < 0 ? -1 : 1;
    case K_COLLECTIVE_EXIT: return on_collective_exit(w, fields) < 0 ? -1 : 1;
    default: return 1;
    }
}

/* As `emit`'s `except Exception: self.errors += 1`; anything else (KeyboardInterrupt) is the caller's. */
static PyObject *count_error(RingWriter *w) {
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return NULL;
    PyErr_Clear();
    PyObject *errors = PyDict_GetItemWithError(w->state, s_errors);
    long long count = errors ? PyLong_AsLongLong(errors) : 0;
    if (count < 0) count = 0;
    if (set_state(w, s_errors, PyLong_FromLongLong(count + 1)) < 0) PyErr_Clear();
    PyErr_Clear();
    Py_RETURN_NONE;
}

static int now_us(RingWriter *w, long long *us) {
    if (w->clock == Py_None) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);  /* time.time_ns()'s clock */
        *us = (long long)now.tv_sec * 1000000LL + now.tv_nsec / 1000;
        return 0;
    }
    PyObject *ns = PyObject_CallNoArgs(w->clock);
    if (!ns) return -1;
    long long value = PyLong_AsLongLong(ns);
    Py_DECREF(ns);
    if (value == -1 && PyErr_Occurred()) return -1;
    *us = value >= 0 ? value / 1000 : -((-value + 999) / 1000);  /* floor, as `// 1000` */
    return 0;
}

static PyObject *hand_to_emit_at(RingWriter *w, PyObject *kind, long long us, long long seq, PyObject *fields) {
    PyObject *us_object = PyLong_FromLongLong(us);
    PyObject *seq_object = us_object ? PyLong_FromLongLong(seq) : NULL;
    PyObject *result = NULL;
    if (seq_object) {
        PyObject *args[4] = {kind, us_object, seq_object, fields};
        result = PyObject_Vectorcall(w->emit_at, args, 4, NULL);
    }
    Py_XDECREF(us_object);
    Py_XDECREF(seq_object);
    return result;
}

static int lock_writer(RingWriter *w) { return lock_take(w->lock, w->acquire); }

/* Called with no error set (a pending one is set aside). */
static int unlock_writer(RingWriter *w) { return lock_give(w->lock, w->release); }

static PyObject *ring_writer_call(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    RingWriter *w = (RingWriter *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames || nargs < 1 || nargs > 2) return PyObject_Vectorcall(w->emit_python, args, nargsf, kwnames);
    PyObject *kind = args[0], *fields = nargs == 2 ? args[1] : Py_None;
    if (!PyUnicode_CheckExact(kind) || (fields != Py_None && !PyDict_CheckExact(fields))) {
        return PyObject_Vectorcall(w->emit_python, args, nargsf, NULL);
    }
    Kind which = kind_of(kind);
    if (which == K_PYTHON || !w->has_view) return PyObject_Vectorcall(w->emit_python, args, nargsf, NULL);

    long long us, seq;
    if (now_us(w, &us) < 0) return count_error(w);
    PyObject *seq_object = Py_TYPE(w->counter)->tp_iternext(w->counter);
    if (!seq_object) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "the seq counter ended");
        return count_error(w);
    }
    seq = PyLong_AsLongLong(seq_object);
    Py_DECREF(seq_object);
    if (seq == -1 && PyErr_Occurred()) return count_error(w);

    char storage[2048];
    Buffer b;
    buffer_on_stack(&b, storage, sizeof storage);
    int encoded = put_record(&b, kind, us, seq, fields, w->prefixes, w->keys, w->metric_keys);
    if (encoded != FAST) {
        buffer_free(&b);
        if (encoded == FAILED) return count_error(w);
        return hand_to_emit_at(w, kind, us, seq, fields);
    }

    if (lock_writer(w) < 0) {
        buffer_free(&b);
        return count_error(w);
    }
    int written = write_event(w, which, fields, b.data, b.len, us, seq);
    PendingError pending;
    if (written < 0) set_aside(&pending);
    int unlocked = unlock_writer(w);
    if (written < 0) restore(&pending);
    buffer_free(&b);
    if (written < 0 || unlocked < 0) return count_error(w);
    if (written == 0) return hand_to_emit_at(w, kind, us, seq, fields);  /* too large a record: counted there */
    Py_RETURN_NONE;
}

static PyObject *ring_writer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *state, *mapping, *lock, *counter, *prefixes, *keys, *metric_keys, *emit_python, *emit_at, *clock;
    unsigned long long mask, max_slots;
    static char *names[] = {"state", "mapping", "lock", "counter", "prefixes", "keys", "metric_keys", "mask",
                            "max_slots", "emit_python", "emit_at", "clock", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOOO!O!O!KKOOO:RingWriter", names, &PyDict_Type, &state, &mapping,
                                     &lock, &counter, &PyDict_Type, &prefixes, &PyDict_Type, &keys, &PyDict_Type,
                                     &metric_keys, &mask, &max_slots, &emit_python, &emit_at, &clock)) {
        return NULL;
    }
    if (!PyIter_Check(counter) || !PyCallable_Check(emit_python) || !PyCallable_Check(emit_at) ||
        (clock != Py_None && !PyCallable_Check(clock))) {
        PyErr_SetString(PyExc_TypeError, "RingWriter: counter must be an iterator; emit_python, emit_at and clock callables");
        return NULL;
    }
    if (mask == 0 || (mask & (mask + 1)) != 0 || mask >= (1ULL << 40)) {
        PyErr_SetString(PyExc_ValueError, "RingWriter: mask must be the ring's slot count less one, a power of two");
        return NULL;
    }
    RingWriter *w = (RingWriter *)type->tp_alloc(type, 0);
    if (!w) return NULL;
    w->vectorcall = ring_writer_call;
    if (PyObject_GetBuffer(mapping, &w->view, PyBUF_WRITABLE | PyBUF_SIMPLE) < 0) goto failed;
    w->has_view = 1;
    if (w->view.len < (Py_ssize_t)(STATE_BYTES + (mask + 1) * SLOT_BYTES)) {
        PyErr_SetString(PyExc_ValueError, "RingWriter: the mapping is smaller than its state block and ring");
        goto failed;
    }
    w->area = (char *)w->view.buf;
    w->mask = mask;
    w->max_slots = max_slots;
    Py_INCREF(lock);
    w->lock = lock;
    w->acquire = PyObject_GetAttrString(lock, "acquire");
    w->release = w->acquire ? PyObject_GetAttrString(lock, "release") : NULL;
    if (!w->release) goto failed;
    Py_INCREF(state);
    w->state = state;
    Py_INCREF(counter);
    w->counter = counter;
    Py_INCREF(prefixes);
    w->prefixes = prefixes;
    Py_INCREF(keys);
    w->keys = keys;
    Py_INCREF(metric_keys);
    w->metric_keys = metric_keys;
    Py_INCREF(emit_python);
    w->emit_python = emit_python;
    Py_INCREF(emit_at);
    w->emit_at = emit_at;
    Py_INCREF(clock);
    w->clock = clock;
    return (PyObject *)w;
failed:
    Py_DECREF(w);
    return NULL;
}

static void release_view(RingWriter *w) {
    if (w->has_view) {
        w->has_view = 0;
        w->area = NULL;
        PyBuffer_Release(&w->view);
    }
}

static PyObject *ring_writer_release(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    release_view((RingWriter *)self);
    Py_RETURN_NONE;
}

static int ring_writer_traverse(PyObject *self, visitproc visit, void *arg) {
    RingWriter *w = (RingWriter *)self;
    Py_VISIT(w->state);
    Py_VISIT(w->lock);
    Py_VISIT(w->acquire);
    Py_VISIT(w->release);
    Py_VISIT(w->counter);
    Py_VISIT(w->prefixes);
    Py_VISIT(w->keys);
    Py_VISIT(w->metric_keys);
    Py_VISIT(w->emit_python);
    Py_VISIT(w->emit_at);
    Py_VISIT(w->clock);
    if (w->has_view) Py_VISIT(w->view.obj);
    return 0;
}

static int ring_writer_clear(PyObject *self) {
    RingWriter *w = (RingWriter *)self;
    release_view(w);
    Py_CLEAR(w->state);
    Py_CLEAR(w->lock);
    Py_CLEAR(w->acquire);
    Py_CLEAR(w->release);
    Py_CLEAR(w->counter);
    Py_CLEAR(w->prefixes);
    Py_CLEAR(w->keys);
    Py_CLEAR(w->metric_keys);
    Py_CLEAR(w->emit_python);
    Py_CLEAR(w->emit_at);
    Py_CLEAR(w->clock);
    return 0;
}

static void ring_writer_dealloc(PyObject *self) {
    PyObject_GC_UnTrack(self);
    ring_writer_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyMethodDef ring_writer_methods[] = {
    {"release", ring_writer_release, METH_NOARGS, "Lets go of the mapping (under the emitter's lock); later calls go to Python."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RingWriterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ranktop._native.RingWriter",
    .tp_doc = "SharedMemoryEmitter.emit in C for the common events: call it as emit(kind, fields=None).",
    .tp_basicsize = sizeof(RingWriter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = ring_writer_new,
    .tp_dealloc = ring_writer_dealloc,
    .tp_traverse = ring_writer_traverse,
    .tp_clear = ring_writer_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(RingWriter, vectorcall),
    .tp_methods = ring_writer_methods,
};

int add_ring_writer(PyObject *module) {
    const InternedName names[] = {
        {&s_head, "_head"}, {&s_barrier_since, "_barrier_since"}, {&s_collective_since, "_collective_since"},
        {&s_open_collective, "_open_collective"}, {&s_errors, "errors"}, {&s_step, "step"}, {&s_total, "total"},
        {&s_async, "async"}, {&s_group, "group"}, {&s_n, "n"},
    };
    if (intern_names(names, sizeof names / sizeof names[0]) < 0) return -1;
    kind_table = PyDict_New();
    if (!kind_table) return -1;
    for (int i = 0; i < KIND_COUNT; i++) {
        if (intern_name(&kinds[i].name, kinds[i].text) < 0) return -1;
        PyObject *value = PyLong_FromLong(kinds[i].kind);
        if (!value || PyDict_SetItem(kind_table, kinds[i].name, value) < 0) {
            Py_XDECREF(value);
            return -1;
        }
        Py_DECREF(value);
    }
    return add_type(module, "RingWriter", &RingWriterType);
}

#else

int add_ring_writer(PyObject *Py_UNUSED(module)) { return 0; } /* before 3.9: the Python writer */

#endif
