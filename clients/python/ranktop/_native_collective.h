/* ranktop._native's collective wrapper body (`_native_collective.c`). */
#ifndef RANKTOP_NATIVE_COLLECTIVE_H
#define RANKTOP_NATIVE_COLLECTIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Adds `CollectiveCall`, `setup_collectives` and `caller_site` to the module; -1 with an error set when it cannot. */
int add_collective_call(PyObject *module);

#endif
