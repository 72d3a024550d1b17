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
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define MAX_LINE_BYTES 65536
#define LONG_TEXT 1024
#define MAX_METRICS 256

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

static int reserve(Buffer *b, Py_ssize_t more) {
    if (b->len + more <= b->cap) return 1;
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *data = PyMem_Realloc(b->data, cap);
    if (!data) {
        PyErr_NoMemory();
        return 0;
    }
    b->data = data;
    b->cap = cap;
    return 1;
}

static int put(Buffer *b, const char *text, Py_ssize_t n) {
    if (!reserve(b, n)) return 0;
    memcpy(b->data + b->len, text, n);
    b->len += n;
    return 1;
}

/* 1 done, 0 not this path (no error set), -1 error set. */
enum { FAST = 1, SLOW = 0, FAILED = -1 };

/* A str that is all ASCII, as it is. */
static int put_ascii_str(Buffer *b, PyObject *text) {
    if (!PyUnicode_IS_ASCII(text)) return SLOW;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (!s) return FAILED;
    return put(b, s, n) ? FAST : FAILED;
}

/* json.encoder.encode_basestring_ascii for an ASCII str; non-ASCII takes the slow path. */
static int put_json_string(Buffer *b, PyObject *text, Py_ssize_t *written) {
    if (!PyUnicode_IS_ASCII(text)) return SLOW;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (!s) return FAILED;
    if (!reserve(b, 6 * n + 2)) return FAILED;
    Py_ssize_t start = b->len;
    char *out = b->data + b->len;
    *out++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= ' ' && c <= '~' && c != '\\' && c != '"') {
            *out++ = (char)c;
            continue;
        }
        *out++ = '\\';
        switch (c) {
        case '\\': *out++ = '\\'; break;
        case '"': *out++ = '"'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default: {
            static const char hex[] = "0123456789abcdef";
            *out++ = 'u';
            *out++ = '0';
            *out++ = '0';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 0xF];
        }
        }
    }
    *out++ = '"';
    b->len = out - b->data;
    *written = b->len - start;
    return FAST;
}

/* repr(value) of a float, as float.__repr__ writes it. */
static int put_float_repr(Buffer *b, double value) {
    char *text = PyOS_double_to_string(value, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (!text) return FAILED;
    int ok = put(b, text, (Py_ssize_t)strlen(text));
    PyMem_Free(text);
    return ok ? FAST : FAILED;
}

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

static int put_long(Buffer *b, long long value) {
    char text[24];
    int n = snprintf(text, sizeof text, "%lld", value);
    return put(b, text, n) ? FAST : FAILED;
}

/* `Emitter._metrics_text` for metrics of floats and ints whose names are cached. */
static int put_metrics(Buffer *b, PyObject *metrics, PyObject *metric_keys, Py_ssize_t *written) {
    if (PyDict_GET_SIZE(metrics) > MAX_METRICS) return SLOW;
    Py_ssize_t start = b->len;
    if (!put(b, "{", 1)) return FAILED;
    Py_ssize_t position = 0;
    PyObject *name, *value;
    int first = 1;
    while (PyDict_Next(metrics, &position, &name, &value)) {
        double number;
        if (PyFloat_CheckExact(value)) {
            number = PyFloat_AS_DOUBLE(value);
        } else if (PyLong_CheckExact(value)) {
            number = PyLong_AsDouble(value);
            if (number == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                return SLOW;
            }
        } else {
            return SLOW;  /* tensors, numpy scalars, bools: `_number` decides */
        }
        PyObject *key = PyDict_GetItemWithError(metric_keys, name);
        if (!key) return PyErr_Occurred() ? FAILED : SLOW;
        if (!PyUnicode_CheckExact(key)) return SLOW;
        if (!first && !put(b, ",", 1)) return FAILED;
        first = 0;
        int done = put_ascii_str(b, key);
        if (done != FAST) return done;
        if (isfinite(number)) {
            done = put_float_repr(b, number);
            if (done != FAST) return done;
        } else if (!put(b, "null", 4)) {
            return FAILED;
        }
    }
    if (!put(b, "}", 1)) return FAILED;
    *written = b->len - start;
    return FAST;
}

/* `,"name":value` for every field, as `append_field_texts` writes them; `long_text` when a value
 * took more than 1,024 bytes. */
static int put_fields(Buffer *b, PyObject *fields, PyObject *keys, PyObject *metric_keys, int *long_text) {
    int done, overflow = 0;
    if (fields != Py_None) {
        Py_ssize_t position = 0;
        PyObject *name, *value;
        while (PyDict_Next(fields, &position, &name, &value)) {
            PyObject *key = PyDict_GetItemWithError(keys, name);
            if (!key) return PyErr_Occurred() ? FAILED : SLOW;
            if (!PyUnicode_CheckExact(key)) return SLOW;
            done = put_ascii_str(b, key);
            if (done != FAST) return done;
            Py_ssize_t written = 0;
            if (PyBool_Check(value)) {
                done = value == Py_True ? put(b, "true", 4) : put(b, "false", 5);
                if (!done) return FAILED;
            } else if (PyLong_CheckExact(value)) {
                long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
                if (overflow || (number == -1 && PyErr_Occurred())) {
                    PyErr_Clear();
                    return SLOW;
                }
                if (put_long(b, number) != FAST) return FAILED;
            } else if (PyUnicode_CheckExact(value)) {
                done = put_json_string(b, value, &written);
                if (done != FAST) return done;
            } else if (value == Py_None) {
                if (!put(b, "null", 4)) return FAILED;
            } else if (PyFloat_CheckExact(value)) {
                double number = PyFloat_AS_DOUBLE(value);
                if (isfinite(number)) {
                    done = put_float_repr(b, number);
                    if (done != FAST) return done;
                } else if (!put(b, "null", 4)) {
                    return FAILED;
                }
            } else if (PyDict_CheckExact(value) && PyUnicode_CompareWithASCIIString(name, "metrics") == 0) {
                done = put_metrics(b, value, metric_keys, &written);
                if (done != FAST) return done;
            } else {
                return SLOW;
            }
            if (written > LONG_TEXT) *long_text = 1;
        }
    }
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
    Buffer b = {NULL, 0, 0};
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
    PyMem_Free(b.data);
    return result;
error:
    PyMem_Free(b.data);
    return NULL;
}

/* `encode_record(kind, us, seq, fields, prefixes, keys, metric_keys) -> bytes | None`: the
 * shared-memory writer's record (the socket line without its newline) with `ts` from the integer
 * microseconds `us` (1 s <= ts < 2^33 s), as `SharedMemoryEmitter.emit` writes it; None when an
 * event needs its Python encoder (an uncached kind or name, another value type, another `ts`). */
static PyObject *encode_record(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *kind, *fields, *prefixes, *keys, *metric_keys;
    long long us, seq;
    if (!PyArg_ParseTuple(args, "OLLOO!O!O!:encode_record", &kind, &us, &seq, &fields, &PyDict_Type, &prefixes,
                          &PyDict_Type, &keys, &PyDict_Type, &metric_keys)) {
        return NULL;
    }
    if (!(us > 999999 && us < (1LL << 33) * 1000000LL)) Py_RETURN_NONE;
    if (fields != Py_None && !PyDict_CheckExact(fields)) Py_RETURN_NONE;
    PyObject *prefix = PyDict_GetItemWithError(prefixes, kind);
    if (!prefix) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    if (!PyUnicode_CheckExact(prefix)) Py_RETURN_NONE;
    char stack[32];
    Buffer b = {NULL, 0, 0};
    int done = put_ascii_str(&b, prefix);
    if (done == FAST) {
        char text[48];
        long long fraction = us % 1000000;
        int n = snprintf(text, sizeof text, "%lld.%06lld", us / 1000000, fraction);
        while (fraction && text[n - 1] == '0') n--;  /* trailing zeros, but "S.0" for a whole second */
        if (!fraction) n -= 5;
        done = put(&b, text, n) ? FAST : FAILED;
    }
    if (done == FAST) {
        int n = snprintf(stack, sizeof stack, ",\"seq\":%lld", seq);
        done = put(&b, stack, n) ? FAST : FAILED;
    }
    int long_text = 0;
    if (done == FAST) done = put_fields(&b, fields, keys, metric_keys, &long_text);
    if (done == FAST) done = put(&b, "}", 1) ? FAST : FAILED;
    if (done == FAST && b.len > MAX_LINE_BYTES) done = SLOW;  /* too long for a record: Python's to count */
    PyObject *result = NULL;
    if (done == FAST) {
        result = PyBytes_FromStringAndSize(b.data, b.len);
    } else if (done == SLOW) {
        Py_INCREF(Py_None);
        result = Py_None;
    }
    PyMem_Free(b.data);
    return result;
}

static PyMethodDef methods[] = {
    {"encode_record", encode_record, METH_VARARGS, "A shared-memory record's bytes, or None for the Python encoder."},
    {"encode_batch", encode_batch, METH_VARARGS, "The lines of a batch of queued events: (bytes, lines)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "ranktop._native", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
