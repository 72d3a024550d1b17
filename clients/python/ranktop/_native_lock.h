/* ranktop._native's lock for the shared-memory writer and the pending async ops (`_native_lock.c`). */
#ifndef RANKTOP_NATIVE_LOCK_H
#define RANKTOP_NATIVE_LOCK_H

#include <Python.h>
#include <pythread.h>

typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;  /* held while `count` > 0 */
    unsigned long owner;      /* the holding thread's ident, 0 when free */
    unsigned long count;      /* re-entries by the owner */
} EmitLock;

extern PyTypeObject EmitLockType;

/* Takes the lock (again, for its owner); waits with the GIL released while another thread holds it. */
void emit_lock_acquire(EmitLock *lock);
/* 0, or -1 with RuntimeError set when this thread does not hold it. */
int emit_lock_release(EmitLock *lock);
/* Any lock, for C code that holds one: an EmitLock with the calls above, anything else
 * (threading.Lock) through its bound `acquire` / `release`. 0, or -1 with an error set. */
int lock_take(PyObject *lock, PyObject *acquire);
int lock_give(PyObject *lock, PyObject *release);
/* Adds the `EmitLock` type to the module; -1 with an error set when it cannot. */
int add_emit_lock(PyObject *module);

#endif
