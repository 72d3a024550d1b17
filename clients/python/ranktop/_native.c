/*
 * ranktop._native: the socket emitter's batch encoder in C (optional; `_emitter` falls back to
 * the same code in Python when this module is not built).
 *
 * Why by hand: the writer thread encodes every event holding the GIL, 3-4 us an event in Python
 * (docs/benchmarks.md), and the training thread waits for the GIL meanwhile. json's C encoder
 * would still need a dict per event and gives different number texts; this writes the
 * `_encode_batch` bytes directly from the queued tuples.
 *
 * `encode_batch(batch, prefixes, keys, metric_keys, slow) -> (bytes, lines)`: for each queued
 * `(kind, ts, seq, fields)`, the line `Emitter._encode_batch` writes, byte for byte, when every
 * piece is of a common kind: a cached prefix and field names, fields of exact type int, bool,
 * str (ASCII), float, None, or a `metrics` dict of floats and ints with cached names. Any other
 * event is handed to `slow(item)`, the Python encoder of one item, which returns its line's bytes
 * or None (and fills the caches, counts oversize lines), so the rare cases keep one definition.
 *
 * `encode_record` is the shared-memory writer's record, and `RingWriter` (`_native_ring.c`) the
 * whole of that writer's `emit` for the common events.
 */
#include "_native_collective.h"
#include "_native_json.h"
#include "_native_lock.h"
#include "_native_pg_hooks.h"
#include "_native_ring.h"

/* repr(round(ts, 6)) for 10^6 <= ts < 2^33 (the year 2242): the correctly rounded six decimals,
 * trailing zeros dropped, ".0" when nothing is left after the point. Below 2^33 a double's spacing
 * is under 10^-6, so no other decimal of six places or fewer names the same double; above, it is
 * not, and repr may choose another. */
static int put_timestamp(Buffer *b, double ts) {
    if (!(ts >= 1e6 && ts < 8589934592.0)) return SLOW;
    char *text = PyOS_double_to_string(ts, 'f', 6, 0, NULL);
    if (!text) return FAILED;
    Py_ssize_t n = (Py_ssize_t)strlen(text);
    while (n > 0 && text[n - 1] == '0') n--;
    int ok = put(b, text, n);
    PyMem_Free(text);
    if (!ok) return FAILED;
    if (b->data[b->len - 1] == '.') return put(b, "0", 1) ? FAST : FAILED;
    return FAST;
}

static int put_line(Buffer *b, PyObject *item, PyObject *prefixes, PyObject *keys, PyObject *metric_keys) {
    if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) != 4) return SLOW;
    PyObject *kind = PyTuple_GET_ITEM(item, 0);
    PyObject *ts = PyTuple_GET_ITEM(item, 1);
    PyObject *seq = PyTuple_GET_ITEM(item, 2);
    PyObject *fields = PyTuple_GET_ITEM(item, 3);
    if (!PyUnicode_CheckExact(kind) || !PyFloat_CheckExact(ts) || !PyLong_CheckExact(seq)) return SLOW;
    if (fields != Py_None && !PyDict_CheckExact(fields)) return SLOW;

    Py_ssize_t start = b->len;
    PyObject *prefix = PyDict_GetItemWithError(prefixes, kind);
    if (!prefix) return PyErr_Occurred() ? FAILED : SLOW;
    if (!PyUnicode_CheckExact(prefix)) return SLOW;
    int done = put_ascii_str(b, prefix);
    if (done != FAST) return done;
    done = put_timestamp(b, PyFloat_AS_DOUBLE(ts));
    if (done != FAST) return done;
    int overflow = 0;
    long long seq_value = PyLong_AsLongLongAndOverflow(seq, &overflow);
    if (overflow || (seq_value == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return SLOW;
    }
    if (!put(b, ",\"seq\":", 7)) return FAILED;
    if (put_long(b, seq_value) != FAST) return FAILED;

    int long_text = 0;
    done = put_fields(b, fields, keys, metric_keys, &long_text);
    if (done != FAST) return done;
    /* As `_encode_batch`: a line with a long value that would pass the limit is the slow path's
     * to count as oversized. */
    if (long_text && b->len - start + 1 > MAX_LINE_BYTES) return SLOW;
    return put(b, "}\n", 2) ? FAST : FAILED;
}

static PyObject *encode_batch(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *batch, *prefixes, *keys, *metric_keys, *slow;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O:encode_batch", &PyList_Type, &batch, &PyDict_Type, &prefixes,
                          &PyDict_Type, &keys, &PyDict_Type, &metric_keys, &slow)) {
        return NULL;
    }
    Buffer b = {NULL, 0, 0, 0};
    Py_ssize_t lines = 0;
    Py_ssize_t count = PyList_GET_SIZE(batch);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(batch, i);
        Py_ssize_t mark = b.len;
        int done = put_line(&b, item, prefixes, keys, metric_keys);
        if (done == FAST) {
            lines++;
            continue;
        }
        b.len = mark;
        if (done == FAILED) goto error;
        PyObject *line = PyObject_CallFunctionObjArgs(slow, item, NULL);
        if (!line) goto error;
        if (line != Py_None) {
            if (!PyBytes_Check(line)) {
                Py_DECREF(line);
                PyErr_SetString(PyExc_TypeError, "the slow encoder must return bytes or None");
                goto error;
            }
            int ok = put(&b, PyBytes_AS_STRING(line), PyBytes_GET_SIZE(line));
            Py_DECREF(line);
            if (!ok) goto error;
            lines++;
        } else {
            Py_DECREF(line);
        }
    }
    PyObject *result = Py_BuildValue("(y#n)", b.data ? b.data : "", b.len, lines);
    buffer_free(&b);
    return result;
error:
    buffer_free(&b);
    return NULL;
}

/* `encode_record(kind, us, seq, fields, prefixes, keys, metric_keys) -> bytes | None`: the
 * shared-memory writer's record (`put_record`), as `SharedMemoryEmitter.emit` writes it; None when
 * an event needs its Python encoder. */
static PyObject *encode_record(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *kind, *fields, *prefixes, *keys, *metric_keys;
    long long us, seq;
    if (!PyArg_ParseTuple(args, "OLLOO!O!O!:encode_record", &kind, &us, &seq, &fields, &PyDict_Type, &prefixes,
                          &PyDict_Type, &keys, &PyDict_Type, &metric_keys)) {
        return NULL;
    }
    char storage[1024];
    Buffer b;
    buffer_on_stack(&b, storage, sizeof storage);
    int done = put_record(&b, kind, us, seq, fields, prefixes, keys, metric_keys);
    PyObject *result = NULL;
    if (done == FAST) {
        result = PyBytes_FromStringAndSize(b.data, b.len);
    } else if (done == SLOW) {
        result = Py_NewRef(Py_None);
    }
    buffer_free(&b);
    return result;
}

/* `float_repr(x) -> str`: `put_float_repr`'s text of a finite float (compared with repr by the tests). */
static PyObject *float_repr(PyObject *Py_UNUSED(module), PyObject *value) {
    double number = PyFloat_AsDouble(value);
    if (number == -1.0 && PyErr_Occurred()) return NULL;
    if (!isfinite(number)) {
        PyErr_SetString(PyExc_ValueError, "float_repr: not a finite float");
        return NULL;
    }
    char text[32];
    int n = write_float_repr(text, number);
    return PyUnicode_FromStringAndSize(text, n);
}

static PyMethodDef methods[] = {
    {"float_repr", float_repr, METH_O, "The C encoder's text of a finite float: repr(x)."},
    {"encode_record", encode_record, METH_VARARGS, "A shared-memory record's bytes, or None for the Python encoder."},
    {"encode_batch", encode_batch, METH_VARARGS, "The lines of a batch of queued events: (bytes, lines)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "ranktop._native", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void) {
    PyObject *created = PyModule_Create(&module);
    if (created && (add_emit_lock(created) < 0 || add_ring_writer(created) < 0 || add_collective_call(created) < 0 ||
                    add_process_group_hook(created) < 0)) Py_CLEAR(created);
    return created;
}
