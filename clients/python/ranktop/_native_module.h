/* How each part of ranktop._native (`_native_*.c`) adds itself to the module when it loads: the
 * names it looks up, interned once, and its type. */
#ifndef RANKTOP_NATIVE_MODULE_H
#define RANKTOP_NATIVE_MODULE_H

#include <Python.h>

typedef struct {
    PyObject **slot;
    const char *text;
} InternedName;

static inline int intern_name(PyObject **slot, const char *text) {
    *slot = PyUnicode_InternFromString(text);
    return *slot ? 0 : -1;
}

static inline int intern_names(const InternedName *names, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (intern_name(names[i].slot, names[i].text) < 0) return -1;
    }
    return 0;
}

/* Readies `type` and adds it to the module as `name`; -1 with an error set when it cannot. */
static inline int add_type(PyObject *module, const char *name, PyTypeObject *type) {
    if (PyType_Ready(type) < 0) return -1;
    Py_INCREF(type);
    if (PyModule_AddObject(module, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

#endif
