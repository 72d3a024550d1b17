/* ranktop._native's collective wrapper body (`_native_collective.c`). */
#ifndef RANKTOP_NATIVE_COLLECTIVE_H
#define RANKTOP_NATIVE_COLLECTIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Adds `CollectiveCall`, `setup_collectives` and `caller_site` to the module; -1 with an error set when it cannot. */
int add_collective_call(PyObject *module);

/* What the process-group hooks (`_native_pg_hooks.c`) share with the wrapper, so that each step of
 * reporting a collective has one implementation in C. Valid after `setup_collectives`. */
PyObject *collective_context(void);  /* _collectives.context (borrowed) */
PyObject *collective_state(void);    /* _state.state (borrowed) */
int collective_count_error(PyObject *where);
int collective_describe(PyObject *data, PyObject **nbytes, PyObject **dtype);
PyObject *collective_caller_site(void);
int collective_enter(PyObject *group, PyObject *op, PyObject *label, PyObject *site, PyObject *nbytes,
                     PyObject *dtype, int is_async, PyObject **n);
int collective_exit_when_done(PyObject *work, PyObject *group, PyObject *n, PyObject *op, int blocking);

#endif
