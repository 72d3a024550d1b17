/*
 * `EmitLock`: the shared-memory writer's reentrant lock, taken by `RingWriter` with two C calls; also
 * `_collectives._pending_lock`, taken the same way by the C poll and exit_when_done.
 *
 * Why not threading.RLock: the writer's C emit calls it twice an event, and through its methods
 * (`acquire` parses its arguments, a bound-method call each way) that cost about 400 ns of a
 * 1,000 ns emit on this machine; these functions cost a trylock and a store. Python code uses it as
 * an RLock: `with lock:`, `acquire()`, `release()`. Reentrant for the same reason the RLock was:
 * a signal handler or finalizer that emits while its thread is inside emit must not hang it.
 */
#define PY_SSIZE_T_CLEAN
#include "_native_lock.h"
#include "_native_module.h"

void emit_lock_acquire(EmitLock *lock) {
    unsigned long me = PyThread_get_thread_ident();
    if (lock->count && lock->owner == me) {
        lock->count++;
        return;
    }
    if (!PyThread_acquire_lock(lock->lock, NOWAIT_LOCK)) {
        /* Another thread is inside a short critical section: let it run. */
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(lock->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    lock->owner = me;
    lock->count = 1;
}

int emit_lock_release(EmitLock *lock) {
    if (!lock->count || lock->owner != PyThread_get_thread_ident()) {
        PyErr_SetString(PyExc_RuntimeError, "cannot release an EmitLock this thread does not hold");
        return -1;
    }
    if (--lock->count == 0) {
        lock->owner = 0;
        PyThread_release_lock(lock->lock);
    }
    return 0;
}

int lock_take(PyObject *lock, PyObject *acquire) {
    if (Py_IS_TYPE(lock, &EmitLockType)) {
        emit_lock_acquire((EmitLock *)lock);
        return 0;
    }
    PyObject *held = PyObject_CallNoArgs(acquire);
    Py_XDECREF(held);
    return held ? 0 : -1;
}

int lock_give(PyObject *lock, PyObject *release) {
    if (Py_IS_TYPE(lock, &EmitLockType)) return emit_lock_release((EmitLock *)lock);
    PyObject *released = PyObject_CallNoArgs(release);
    Py_XDECREF(released);
    return released ? 0 : -1;
}

static PyObject *emit_lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    if (PyTuple_GET_SIZE(args) || (kwargs && PyDict_GET_SIZE(kwargs))) {
        PyErr_SetString(PyExc_TypeError, "EmitLock() takes no arguments");
        return NULL;
    }
    EmitLock *lock = (EmitLock *)type->tp_alloc(type, 0);
    if (!lock) return NULL;
    lock->lock = PyThread_allocate_lock();
    if (!lock->lock) {
        Py_DECREF(lock);
        PyErr_SetString(PyExc_MemoryError, "cannot allocate a lock");
        return NULL;
    }
    return (PyObject *)lock;
}

static void emit_lock_dealloc(PyObject *self) {
    EmitLock *lock = (EmitLock *)self;
    if (lock->lock) {
        if (lock->count) PyThread_release_lock(lock->lock);
        PyThread_free_lock(lock->lock);
    }
    Py_TYPE(self)->tp_free(self);
}

static PyObject *emit_lock_acquire_method(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    emit_lock_acquire((EmitLock *)self);
    Py_RETURN_TRUE;
}

static PyObject *emit_lock_release_method(PyObject *self, PyObject *Py_UNUSED(ignored)) {
    if (emit_lock_release((EmitLock *)self) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *emit_lock_exit(PyObject *self, PyObject *Py_UNUSED(args)) {
    if (emit_lock_release((EmitLock *)self) < 0) return NULL;
    Py_RETURN_FALSE;
}

static PyMethodDef emit_lock_methods[] = {
    {"acquire", emit_lock_acquire_method, METH_NOARGS, "Takes the lock, waiting for it; returns True."},
    {"release", emit_lock_release_method, METH_NOARGS, "Releases one acquire of this thread."},
    {"__enter__", emit_lock_acquire_method, METH_NOARGS, NULL},
    {"__exit__", emit_lock_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject EmitLockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ranktop._native.EmitLock",
    .tp_doc = "A reentrant lock RingWriter takes without a method call; used as threading.RLock.",
    .tp_basicsize = sizeof(EmitLock),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = emit_lock_new,
    .tp_dealloc = emit_lock_dealloc,
    .tp_methods = emit_lock_methods,
};

int add_emit_lock(PyObject *module) { return add_type(module, "EmitLock", &EmitLockType); }
