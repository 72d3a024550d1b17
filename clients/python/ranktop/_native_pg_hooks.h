/* ranktop._native's process-group hook bodies (`_native_pg_hooks.c`). */
#ifndef RANKTOP_NATIVE_PG_HOOKS_H
#define RANKTOP_NATIVE_PG_HOOKS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Adds `ProcessGroupHook` to the module; -1 with an error set when it cannot. */
int add_process_group_hook(PyObject *module);

#endif
