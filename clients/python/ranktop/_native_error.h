/* ranktop._native's way to hold an error across calls that need none set (`_native_ring.c`,
 * `_native_collective.c`): the one API of each Python version, without its deprecation warnings. */
#ifndef RANKTOP_NATIVE_ERROR_H
#define RANKTOP_NATIVE_ERROR_H

#include <Python.h>

typedef struct {
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *raised;
#else
    PyObject *type, *value, *traceback;
#endif
} PendingError;

static inline void set_aside(PendingError *pending) {
#if PY_VERSION_HEX >= 0x030C0000
    pending->raised = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&pending->type, &pending->value, &pending->traceback);
#endif
}

static inline void restore(PendingError *pending) {
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(pending->raised);
#else
    PyErr_Restore(pending->type, pending->value, pending->traceback);
#endif
}

/* The set error as one object (normalized), taken out; NULL when none is set. */
static inline PyObject *take_error(void) {
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (!type) return NULL;
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback && value) PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

#endif
