/*
 * The JSON pieces of ranktop._native's encoders (`_native.c`, `_native_ring.c`): the bytes
 * `_emitter`'s Python encoder writes for the common fields, byte for byte. Each `put_*` returns
 * FAST (written), SLOW (a value only the Python encoder takes; no error set) or FAILED (error set).
 */
#ifndef RANKTOP_NATIVE_JSON_H
#define RANKTOP_NATIVE_JSON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#define MAX_LINE_BYTES 65536
#define LONG_TEXT 1024
#define MAX_METRICS 256

/* Bytes being written: on the caller's stack while they fit (`buffer_on_stack`), then on the
 * heap; `buffer_free` frees what the heap holds. */
typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
    int on_heap;
} Buffer;

static inline void buffer_on_stack(Buffer *b, char *storage, Py_ssize_t size) {
    b->data = storage;
    b->len = 0;
    b->cap = size;
    b->on_heap = 0;
}

static inline void buffer_free(Buffer *b) {
    if (b->on_heap) PyMem_Free(b->data);
    b->data = NULL;
    b->on_heap = 0;
}

static inline int reserve(Buffer *b, Py_ssize_t more) {
    if (b->len + more <= b->cap) return 1;
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *data;
    if (b->on_heap) {
        data = PyMem_Realloc(b->data, cap);
    } else {
        data = PyMem_Malloc(cap);
        if (data && b->len) memcpy(data, b->data, b->len);
    }
    if (!data) {
        PyErr_NoMemory();
        return 0;
    }
    b->data = data;
    b->cap = cap;
    b->on_heap = 1;
    return 1;
}

static inline int put(Buffer *b, const char *text, Py_ssize_t n) {
    if (!reserve(b, n)) return 0;
    memcpy(b->data + b->len, text, n);
    b->len += n;
    return 1;
}

/* 1 done, 0 not this path (no error set), -1 error set. */
enum { FAST = 1, SLOW = 0, FAILED = -1 };

/* A str that is all ASCII, as it is. */
static inline int put_ascii_str(Buffer *b, PyObject *text) {
    if (!PyUnicode_IS_ASCII(text)) return SLOW;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (!s) return FAILED;
    return put(b, s, n) ? FAST : FAILED;
}

/* json.encoder.encode_basestring_ascii for an ASCII str; non-ASCII takes the slow path. */
static inline int put_json_string(Buffer *b, PyObject *text, Py_ssize_t *written) {
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

/* The decimal digits of `value` at `out` (up to 20), two at a time: snprintf's format parsing was a
 * quarter of a shared-memory emit. Returns their count. */
static inline int write_digits(char *out, unsigned long long value) {
    static const char pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char text[20];
    int at = 20;
    while (value >= 100) {
        unsigned index = (unsigned)(value % 100) * 2;
        value /= 100;
        text[--at] = pairs[index + 1];
        text[--at] = pairs[index];
    }
    if (value >= 10) {
        text[--at] = pairs[value * 2 + 1];
        text[--at] = pairs[value * 2];
    } else {
        text[--at] = (char)('0' + value);
    }
    memcpy(out, text + at, 20 - at);
    return 20 - at;
}

#include "_native_float.h"

/* repr(value) of a finite float, as float.__repr__ writes it. */
static inline int put_float_repr(Buffer *b, double value) {
    if (!reserve(b, 32)) return FAILED;
    b->len += write_float_repr(b->data + b->len, value);
    return FAST;
}

static inline int put_long(Buffer *b, long long value) {
    if (!reserve(b, 21)) return FAILED;
    char *out = b->data + b->len;
    int n = 0;
    unsigned long long magnitude = (unsigned long long)value;
    if (value < 0) {
        out[n++] = '-';
        magnitude = 0ULL - magnitude;
    }
    b->len += n + write_digits(out + n, magnitude);
    return FAST;
}

/* `Emitter._metrics_text` for metrics of floats and ints whose names are cached. */
static inline int put_metrics(Buffer *b, PyObject *metrics, PyObject *metric_keys, Py_ssize_t *written) {
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
static inline int put_fields(Buffer *b, PyObject *fields, PyObject *keys, PyObject *metric_keys, int *long_text) {
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

/* A shared-memory record (the socket line without its newline) with `ts` from the integer
 * microseconds `us`, 1 s <= ts < 2^33 s: SLOW for an event whose kind or field names are not cached
 * yet, another value type, another `ts`, or a record over MAX_LINE_BYTES (the Python encoder's to
 * count as oversized). */
static inline int put_record(Buffer *b, PyObject *kind, long long us, long long seq, PyObject *fields,
                             PyObject *prefixes, PyObject *keys, PyObject *metric_keys) {
    if (!(us > 999999 && us < (1LL << 33) * 1000000LL)) return SLOW;
    if (fields != Py_None && !PyDict_CheckExact(fields)) return SLOW;
    PyObject *prefix = PyDict_GetItemWithError(prefixes, kind);
    if (!prefix) return PyErr_Occurred() ? FAILED : SLOW;
    if (!PyUnicode_CheckExact(prefix)) return SLOW;
    int done = put_ascii_str(b, prefix);
    if (done != FAST) return done;
    /* `ts`: seconds, the point, the six decimals without their trailing zeros ("S.0" for a whole
     * second); then `seq`. */
    if (!reserve(b, 64)) return FAILED;
    char *out = b->data + b->len;
    char *start = out;
    unsigned long long fraction = (unsigned long long)(us % 1000000);
    out += write_digits(out, (unsigned long long)(us / 1000000));
    *out++ = '.';
    if (fraction) {
        char decimals[6];
        for (int i = 5; i >= 0; i--) {
            decimals[i] = (char)('0' + fraction % 10);
            fraction /= 10;
        }
        int keep = 6;
        while (decimals[keep - 1] == '0') keep--;
        memcpy(out, decimals, keep);
        out += keep;
    } else {
        *out++ = '0';
    }
    memcpy(out, ",\"seq\":", 7);
    out += 7;
    if (seq < 0) {
        *out++ = '-';
        out += write_digits(out, 0ULL - (unsigned long long)seq);
    } else {
        out += write_digits(out, (unsigned long long)seq);
    }
    b->len += out - start;
    int long_text = 0;
    done = put_fields(b, fields, keys, metric_keys, &long_text);
    if (done != FAST) return done;
    if (!put(b, "}", 1)) return FAILED;
    return b->len > MAX_LINE_BYTES ? SLOW : FAST;
}

#endif
