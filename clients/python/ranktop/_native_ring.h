/* ranktop._native's shared-memory writer (`_native_ring.c`). */
#ifndef RANKTOP_NATIVE_RING_H
#define RANKTOP_NATIVE_RING_H

#include <Python.h>

/* Adds the `RingWriter` type to the module; -1 with an error set when it cannot. */
int add_ring_writer(PyObject *module);

#endif
