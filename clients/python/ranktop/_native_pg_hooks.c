/*
 * `ProcessGroupHook`: the bodies of `_pg_hooks.install`'s pre and post hooks in C, registered with
 * `ProcessGroup.register_pre_hook` / `register_post_hook` in their place.
 *
 * Why by hand: these hooks report what torch issues from C++, above all DDP's gradient buckets,
 * the collectives a DDP step is made of. In Python their bodies added ~16 us of the training
 * thread's CPU to a `ProcessGroup.allreduce` on gloo (bench/wrapper_cost.py), more than the whole
 * 5 us target: attribute reads of torch's hook arguments, the label, bytes and dtype of a list of
 * tensors, the call site, the event and the pending table, each tens of bytecodes.
 *
 * The steps are `_pg_hooks.install`'s `pre` and `post`, which stay the reference and the fallback
 * (RANKTOP_PYTHON_WRAPPER=1, or no compiler); the reporting itself (describe, the call site, enter,
 * exit_when_done) is the collective wrapper's (`_native_collective.h`), so each rule has one home.
 * The adapter's own failures are counted under "process group hook" and never reach torch.
 */
#include "_native_collective.h"
#include "_native_module.h"
#include "_native_pg_hooks.h"

#include <stddef.h>

#if PY_VERSION_HEX >= 0x030B0000

static PyObject *s_depth, *s_want_work, *s_work, *s_labels, *s_name, *s_value, *s_async_op, *s_input_tensors, *s_op_id;
static PyObject *s_ddp, *s_all_reduce, *s_ddp_gradients, *s_where;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *group;          /* the `_collectives.Group` */
    PyObject *ops;            /* HookOpName member's value -> the protocol's op (_pg_hooks._op_table) */
    PyObject *pending;        /* op_id -> (n, op, blocking), shared by a group's pre and post */
    Py_ssize_t max_pending;   /* _pg_hooks.MAX_UNANSWERED: past it, `pending` is cleared */
    PyObject *graph_task_id;  /* torch._C._current_graph_task_id, or None */
    int is_post;
} ProcessGroupHook;

static int truth_of(PyObject *object, PyObject *name) {
    PyObject *value = PyObject_GetAttr(object, name);
    int truth = value ? PyObject_IsTrue(value) : -1;
    Py_XDECREF(value);
    return truth;
}

/* `_in_backward()`: inside an autograd backward pass, where DDP reduces its gradient buckets. */
static int in_backward(ProcessGroupHook *hook) {
    if (hook->graph_task_id == Py_None) return 1;  /* cannot tell: DDP's async all-reduces are its buckets */
    PyObject *id = PyObject_CallNoArgs(hook->graph_task_id);
    long long value = id ? PyLong_AsLongLong(id) : 0;
    Py_XDECREF(id);
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
        PyErr_Clear();
        return 1;
    }
    return value != -1;
}

/* The label: the outermost API's, else `ddp.gradients` for a DDP group's async all-reduce in
 * backward, else None (borrowed). NULL with an error. */
static PyObject *label_of(ProcessGroupHook *hook, PyObject *op, int is_async) {
    PyObject *labels = PyObject_GetAttr(collective_state(), s_labels);
    if (!labels) return NULL;
    if (PyList_Check(labels) && PyList_GET_SIZE(labels)) {
        PyObject *label = PyList_GET_ITEM(labels, 0);  /* the list keeps it while state does */
        Py_DECREF(labels);
        return label;
    }
    Py_DECREF(labels);
    if (!is_async) return Py_None;
    int ddp = truth_of(hook->group, s_ddp);
    if (ddp <= 0) return ddp < 0 ? NULL : Py_None;
    int same = PyUnicode_Compare(op, s_all_reduce);
    if (same == -1 && PyErr_Occurred()) return NULL;
    if (same != 0) return Py_None;
    int backward = in_backward(hook);
    if (backward < 0) return NULL;
    return backward ? s_ddp_gradients : Py_None;
}

static int pre(ProcessGroupHook *hook, PyObject *args) {
    PyObject *name = PyObject_GetAttr(args, s_name);
    PyObject *value = name ? PyObject_GetAttr(name, s_value) : NULL;
    Py_XDECREF(name);
    PyObject *op = value ? PyDict_GetItemWithError(hook->ops, value) : NULL;  /* borrowed */
    Py_XDECREF(value);
    if (!op) return PyErr_Occurred() ? -1 : 0;  /* SEND/RECV, SPLIT, ...: not reported */
    Py_INCREF(op);
    PyObject *tensors = NULL, *nbytes = NULL, *dtype = NULL, *site = NULL, *n = NULL, *op_id = NULL, *entry = NULL;
    int ok = 0;
    int is_async = truth_of(args, s_async_op);
    PyObject *label = is_async < 0 ? NULL : label_of(hook, op, is_async);
    if (!label) goto done;
    Py_INCREF(label);
    tensors = PyObject_GetAttr(args, s_input_tensors);
    if (!tensors || collective_describe(tensors, &nbytes, &dtype) < 0) goto done;
    site = collective_caller_site();
    if (!site || collective_enter(hook->group, op, label, site, nbytes, dtype, is_async, &n) < 0) goto done;
    if (PyDict_GET_SIZE(hook->pending) > hook->max_pending) PyDict_Clear(hook->pending);
    op_id = PyObject_GetAttr(args, s_op_id);
    entry = op_id ? PyTuple_Pack(3, n, op, is_async ? Py_False : Py_True) : NULL;
    ok = entry && PyDict_SetItem(hook->pending, op_id, entry) == 0;
done:
    Py_DECREF(op);
    Py_XDECREF(label);
    Py_XDECREF(tensors);
    Py_XDECREF(nbytes);
    Py_XDECREF(dtype);
    Py_XDECREF(site);
    Py_XDECREF(n);
    Py_XDECREF(op_id);
    Py_XDECREF(entry);
    return ok ? 0 : -1;
}

static int post(ProcessGroupHook *hook, PyObject *args) {
    if (PyDict_GET_SIZE(hook->pending) == 0) return 0;
    PyObject *op_id = PyObject_GetAttr(args, s_op_id);
    if (!op_id) return -1;
    PyObject *entry = PyDict_GetItemWithError(hook->pending, op_id);
    Py_XINCREF(entry);
    int ok = entry ? PyDict_DelItem(hook->pending, op_id) == 0 : !PyErr_Occurred();
    Py_DECREF(op_id);
    if (ok && entry) {
        PyObject *work = PyObject_GetAttr(args, s_work);
        ok = work && PyTuple_Check(entry) && PyTuple_GET_SIZE(entry) == 3 &&
             collective_exit_when_done(work, hook->group, PyTuple_GET_ITEM(entry, 0), PyTuple_GET_ITEM(entry, 1),
                                       PyTuple_GET_ITEM(entry, 2) == Py_True) == 0;
        Py_XDECREF(work);
    }
    Py_XDECREF(entry);
    return ok ? 0 : -1;
}

/* Inside a Python wrapper's call (`context.depth`): the wrapper reports it; the post hook hands it
 * the call's work when it asked. 1 when inside one, 0 not, -1 error. */
static int inside_wrapper(ProcessGroupHook *hook, PyObject *args) {
    PyObject *context = collective_context();
    int depth = truth_of(context, s_depth);
    if (depth <= 0 || !hook->is_post) return depth;
    int want = truth_of(context, s_want_work);
    if (want <= 0) return want < 0 ? -1 : 1;
    PyObject *work = PyObject_GetAttr(args, s_work);
    int set = work ? PyObject_SetAttr(context, s_work, work) : -1;
    Py_XDECREF(work);
    return set < 0 ? -1 : 1;
}

static PyObject *hook_call(PyObject *callable, PyObject *const *argv, size_t nargsf, PyObject *kwnames) {
    ProcessGroupHook *hook = (ProcessGroupHook *)callable;
    if (kwnames || PyVectorcall_NARGS(nargsf) != 1) {
        PyErr_SetString(PyExc_TypeError, "a process group hook takes its hook arguments");
        return NULL;
    }
    int inside = inside_wrapper(hook, argv[0]);
    int ok = inside < 0 ? -1 : inside ? 0 : hook->is_post ? post(hook, argv[0]) : pre(hook, argv[0]);
    if (ok < 0 && collective_count_error(s_where) < 0) return NULL;
    Py_RETURN_NONE;
}

/* -- the type -------------------------------------------------------------------------------------- */

static PyObject *hook_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *group, *ops, *pending, *graph_task_id;
    Py_ssize_t max_pending;
    int is_post;
    static char *names[] = {"group", "ops", "pending", "max_pending", "graph_task_id", "post", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!O!nOp:ProcessGroupHook", names, &group, &PyDict_Type, &ops,
                                     &PyDict_Type, &pending, &max_pending, &graph_task_id, &is_post)) {
        return NULL;
    }
    if (!collective_context()) {
        PyErr_SetString(PyExc_RuntimeError, "ProcessGroupHook: call ranktop._native.setup_collectives first");
        return NULL;
    }
    if (graph_task_id != Py_None && !PyCallable_Check(graph_task_id)) {
        PyErr_SetString(PyExc_TypeError, "ProcessGroupHook: graph_task_id must be callable or None");
        return NULL;
    }
    ProcessGroupHook *hook = (ProcessGroupHook *)type->tp_alloc(type, 0);
    if (!hook) return NULL;
    hook->vectorcall = hook_call;
    hook->group = Py_NewRef(group);
    hook->ops = Py_NewRef(ops);
    hook->pending = Py_NewRef(pending);
    hook->max_pending = max_pending;
    hook->graph_task_id = Py_NewRef(graph_task_id);
    hook->is_post = is_post;
    return (PyObject *)hook;
}

static int hook_traverse(PyObject *self, visitproc visit, void *arg) {
    ProcessGroupHook *hook = (ProcessGroupHook *)self;
    Py_VISIT(hook->group);
    Py_VISIT(hook->ops);
    Py_VISIT(hook->pending);
    Py_VISIT(hook->graph_task_id);
    return 0;
}

static int hook_clear(PyObject *self) {
    ProcessGroupHook *hook = (ProcessGroupHook *)self;
    Py_CLEAR(hook->group);
    Py_CLEAR(hook->ops);
    Py_CLEAR(hook->pending);
    Py_CLEAR(hook->graph_task_id);
    return 0;
}

static void hook_dealloc(PyObject *self) {
    PyObject_GC_UnTrack(self);
    hook_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject ProcessGroupHookType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ranktop._native.ProcessGroupHook",
    .tp_doc = "A process group's pre or post hook that reports C++-issued collectives (_pg_hooks).",
    .tp_basicsize = sizeof(ProcessGroupHook),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = hook_new,
    .tp_dealloc = hook_dealloc,
    .tp_traverse = hook_traverse,
    .tp_clear = hook_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(ProcessGroupHook, vectorcall),
};

int add_process_group_hook(PyObject *module) {
    const InternedName names[] = {
        {&s_depth, "depth"}, {&s_want_work, "want_work"}, {&s_work, "work"}, {&s_labels, "labels"},
        {&s_name, "name"}, {&s_value, "value"}, {&s_async_op, "async_op"}, {&s_input_tensors, "input_tensors"}, {&s_op_id, "op_id"},
        {&s_ddp, "ddp"}, {&s_all_reduce, "all_reduce"}, {&s_ddp_gradients, "ddp.gradients"},
        {&s_where, "process group hook"},
    };
    if (intern_names(names, sizeof names / sizeof names[0]) < 0) return -1;
    return add_type(module, "ProcessGroupHook", &ProcessGroupHookType);
}

#else

int add_process_group_hook(PyObject *Py_UNUSED(module)) { return 0; } /* before 3.11: the Python hooks */

#endif
