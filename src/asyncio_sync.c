/* asyncio_sync.c - asyncio's synchronisation primitives in C: Event, Lock, Semaphore,
 * BoundedSemaphore, and Queue with LifoQueue, PriorityQueue, QueueEmpty and QueueFull.
 *
 * Waiters are tasks in intrusive FIFO lists (task.h: implicit futures), so blocking
 * allocates nothing but the awaitable. Each algorithm is CPython 3.11's
 * (asyncio/locks.py, asyncio/queues.py) step for step, including when a woken or
 * cancelled waiter leaves the list, because that decides who runs next.
 */
#include "common.h"

#include <string.h>

#include "task.h"

/* Primitives bind to the loop that first blocks on them (CPython's _LoopBoundMixin). */
static bool bind_loop(AsyVM *vm, AsyObj *self, uint32_t *run_id) {
    AsyLoop *L = vm->loop;
    if (*run_id == 0) *run_id = L->run_id;
    if (*run_id == L->run_id) return true;
    asy_raise(vm, ASY_EXC_RuntimeError, "%R is bound to a different event loop", ASY_OBJ(self));
    return false;
}

static bool all_cancelled(AsyWaitList *l) {
    for (AsyTask *t = l->head; t; t = t->wnext)
        if (t->wait_state != ASY_WAIT_CANCELLED) return false;
    return true;
}

static bool is_cancel(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) &&
           asy_is_subtype(ASY_AS_OBJ(v)->type, vm->exc_types[ASY_EXC_CancelledError]);
}

/* "<asyncio.locks.Event object at 0x... [extra]>" */
static AsyValue lock_style_repr(AsyVM *vm, AsyObj *o, const char *extra, int64_t waiters) {
    AsyType *t = o->type;
    const char *mod = t->module ? t->module->data : "asyncio.locks";
    const char *name = t->qualname ? t->qualname->data : t->name;
    if (waiters > 0)
        return ASY_OBJ(asy_str_printf(vm, "<%s.%s object at %p [%s, waiters:%lld]>", mod, name,
                                      (void *)o, extra, (long long)waiters));
    return ASY_OBJ(asy_str_printf(vm, "<%s.%s object at %p [%s]>", mod, name, (void *)o, extra));
}

static AsyType *prim_type(AsyVM *vm, const char *name, const char *module, size_t size) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), size);
    t->module = asy_str_intern_cstr(vm, module);
    t->tflags |= ASY_TYPE_BASETYPE;
    return t;
}

/* A subclass's instance is made without looking at the arguments: its __init__ (ours,
 * inherited, or the subclass's calling ours through super()) takes them, as CPython's
 * object.__new__ leaves them to __init__. */
static bool is_subclass_call(AsyType *type) { return (type->tflags & ASY_TYPE_HEAP) != 0; }

static bool no_args(AsyVM *vm, const char *name, int argc) {
    return asy_check_args(vm, name, argc - 1, 0, 0);
}

/* __aexit__ of every lock-like primitive: release now, give an awaitable of None. */
static AsyValue aexit_release(AsyVM *vm, AsyValue self, const char *meth) {
    AsyValue r = asy_call_method(vm, self, asy_str_intern_cstr(vm, meth), 0, NULL);
    if (ASY_IS_ERR(r)) return r;
    return asy_op_value(vm, ASY_NONE);
}

/* ==================================================================================== */
/* Event                                                                                */
/* ==================================================================================== */

typedef struct {
    AsyObj hdr;
    AsyWaitList waiters;
    AsyOp *wait_op; /* what wait() returns (asy_op_shared)                      */
    uint32_t run_id;
    bool value;
} AsyEvent;

static AsyEvent *ev_of(AsyValue v) { return (AsyEvent *)ASY_AS_OBJ(v); }

static void event_traverse(AsyVM *vm, AsyObj *o) {
    asy_waitlist_mark(vm, &((AsyEvent *)o)->waiters);
    asy_gc_mark_obj(vm, (AsyObj *)((AsyEvent *)o)->wait_op);
}

/* Event(), Lock(): no arguments. */
static bool check_no_init_args(AsyVM *vm, const char *name, int argc, AsyDict *kw) {
    return asy_check_nokw(vm, name, kw) && asy_check_args(vm, name, argc, 0, 0);
}

static AsyValue event_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!is_subclass_call(type) && !check_no_init_args(vm, "Event", argc, kw)) return ASY_ERR;
    return ASY_OBJ(asy_gc_alloc(vm, type, type->basicsize));
}

static AsyValue plain_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    return check_no_init_args(vm, "__init__", argc - 1, kw) ? ASY_NONE : ASY_ERR;
}

static AsyValue event_repr(AsyVM *vm, AsyValue self) {
    AsyEvent *e = ev_of(self);
    return lock_style_repr(vm, &e->hdr, e->value ? "set" : "unset", e->waiters.len);
}

static int op_event_wait(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyEvent *e = ev_of(op->obj);
    if (resumed) {
        asy_waitlist_remove(&e->waiters, t);
        if (asy_task_take_exc(vm, t)) return ASY_AWAIT_ERROR;
        *result = ASY_TRUE;
        return ASY_AWAIT_DONE;
    }
    if (e->value) {
        *result = ASY_TRUE;
        return ASY_AWAIT_DONE;
    }
    if (!bind_loop(vm, &e->hdr, &e->run_id)) return ASY_AWAIT_ERROR;
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &e->waiters);
    return ASY_AWAIT_SUSPEND;
}

static AsyValue em_wait(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "wait", argc)) return ASY_ERR;
    return asy_op_shared(vm, &ev_of(argv[0])->wait_op, op_event_wait, "Event.wait", argv[0],
                         ASY_UNDEF);
}

static AsyValue em_set(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "set", argc)) return ASY_ERR;
    AsyEvent *e = ev_of(argv[0]);
    if (e->value) return ASY_NONE;
    e->value = true;
    for (AsyTask *t = e->waiters.head; t; t = t->wnext)
        asy_task_wait_resolve(vm, t, ASY_TRUE);
    return ASY_NONE;
}

static AsyValue em_clear(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "clear", argc)) return ASY_ERR;
    ev_of(argv[0])->value = false;
    return ASY_NONE;
}

static AsyValue em_is_set(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "is_set", argc)) return ASY_ERR;
    return ASY_BOOL(ev_of(argv[0])->value);
}

static const AsyMethodDef event_methods[] = {
    {"__init__", plain_init, 0, "Initialize self."},
    {"wait", em_wait, 0, "Block until the internal flag is true."},
    {"set", em_set, 0, "Set the internal flag to true, waking every waiter."},
    {"clear", em_clear, 0, "Reset the internal flag to false."},
    {"is_set", em_is_set, 0, "Return True if and only if the internal flag is true."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Lock                                                                                 */
/* ==================================================================================== */

typedef struct {
    AsyObj hdr;
    AsyWaitList waiters;
    AsyOp *acquire_op, *aenter_op; /* shared awaitables (asy_op_shared)              */
    uint32_t run_id;
    bool locked;
} AsyLock;

static AsyLock *lock_of(AsyValue v) { return (AsyLock *)ASY_AS_OBJ(v); }

static void lock_traverse(AsyVM *vm, AsyObj *o) {
    AsyLock *l = (AsyLock *)o;
    asy_waitlist_mark(vm, &l->waiters);
    asy_gc_mark_obj(vm, (AsyObj *)l->acquire_op);
    asy_gc_mark_obj(vm, (AsyObj *)l->aenter_op);
}

static AsyValue lock_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    if (!is_subclass_call(type) && !check_no_init_args(vm, "Lock", argc, kw)) return ASY_ERR;
    return ASY_OBJ(asy_gc_alloc(vm, type, type->basicsize));
}

static AsyValue lock_repr(AsyVM *vm, AsyValue self) {
    AsyLock *l = lock_of(self);
    return lock_style_repr(vm, &l->hdr, l->locked ? "locked" : "unlocked", l->waiters.len);
}

/* Only the first waiter is looked at, done or not (CPython's _wake_up_first). */
static void lock_wake_up_first(AsyVM *vm, AsyLock *l) {
    if (l->waiters.head) asy_task_wait_resolve(vm, l->waiters.head, ASY_TRUE);
}

/* op->arg: what the await gives (True for acquire(), None for __aenter__). */
static int op_lock_acquire(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyLock *l = lock_of(op->obj);
    if (!resumed) {
        if (!l->locked && all_cancelled(&l->waiters)) {
            l->locked = true;
            *result = op->arg;
            return ASY_AWAIT_DONE;
        }
        if (!bind_loop(vm, &l->hdr, &l->run_id)) return ASY_AWAIT_ERROR;
        asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &l->waiters);
        return ASY_AWAIT_SUSPEND;
    }
    asy_waitlist_remove(&l->waiters, t);
    if (t->step_exc) {
        if (is_cancel(vm, ASY_OBJ(t->step_exc)) && !l->locked) lock_wake_up_first(vm, l);
        asy_task_take_exc(vm, t);
        return ASY_AWAIT_ERROR;
    }
    l->locked = true;
    *result = op->arg;
    return ASY_AWAIT_DONE;
}

static AsyValue lm_acquire(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "acquire", argc)) return ASY_ERR;
    return asy_op_shared(vm, &lock_of(argv[0])->acquire_op, op_lock_acquire, "Lock.acquire",
                         argv[0], ASY_TRUE);
}

static AsyValue lm_aenter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__aenter__", argc)) return ASY_ERR;
    return asy_op_shared(vm, &lock_of(argv[0])->aenter_op, op_lock_acquire,
                         "_ContextManagerMixin.__aenter__", argv[0], ASY_NONE);
}

static AsyValue lm_release(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "release", argc)) return ASY_ERR;
    AsyLock *l = lock_of(argv[0]);
    if (!l->locked) return asy_raise(vm, ASY_EXC_RuntimeError, "Lock is not acquired.");
    l->locked = false;
    lock_wake_up_first(vm, l);
    return ASY_NONE;
}

static AsyValue lm_locked(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "locked", argc)) return ASY_ERR;
    return ASY_BOOL(lock_of(argv[0])->locked);
}

static AsyValue prim_aexit(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argc);
    return aexit_release(vm, argv[0], "release");
}

static const AsyMethodDef lock_methods[] = {
    {"__init__", plain_init, 0, "Initialize self."},
    {"acquire", lm_acquire, 0, "Acquire a lock."},
    {"release", lm_release, 0, "Release a lock."},
    {"locked", lm_locked, 0, "Return True if lock is acquired."},
    {"__aenter__", lm_aenter, 0, "Acquire the lock for `async with`."},
    {"__aexit__", prim_aexit, 0, "Release the lock after `async with`."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Semaphore and BoundedSemaphore                                                       */
/* ==================================================================================== */

typedef struct {
    AsyObj hdr;
    AsyWaitList waiters;
    AsyOp *acquire_op, *aenter_op; /* shared awaitables (asy_op_shared)              */
    uint32_t run_id;
    bool bounded;
    int64_t value;
    int64_t bound;
} AsySemaphore;

static AsySemaphore *sem_of(AsyValue v) { return (AsySemaphore *)ASY_AS_OBJ(v); }

static void sem_traverse(AsyVM *vm, AsyObj *o) {
    AsySemaphore *s = (AsySemaphore *)o;
    asy_waitlist_mark(vm, &s->waiters);
    asy_gc_mark_obj(vm, (AsyObj *)s->acquire_op);
    asy_gc_mark_obj(vm, (AsyObj *)s->aenter_op);
}

/* Semaphore(value=1) / BoundedSemaphore(value=1): the initial value into s. */
static bool sem_set_value(AsyVM *vm, AsySemaphore *s, const char *name, int argc, AsyValue *argv,
                          AsyDict *kw) {
    AsyValue value = asy_kwarg(vm, kw, "value");
    if (!asy_check_kw_done(vm, name, kw)) return false;
    if (!asy_check_args(vm, name, argc + !ASY_IS_UNDEF(value), 0, 1)) return false;
    if (argc == 1) value = argv[0];
    int64_t n = 1;
    if (!ASY_IS_UNDEF(value) && !asy_index(vm, value, &n)) return false;
    if (n < 0) {
        asy_raise(vm, ASY_EXC_ValueError, "Semaphore initial value must be >= 0");
        return false;
    }
    s->value = s->bound = n;
    return true;
}

static AsyValue sem_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsySemaphore *s = asy_gc_alloc(vm, type, type->basicsize);
    s->bounded = asy_is_subtype(type, ASY_AIO_TYPE(vm, BoundedSemaphore));
    s->value = s->bound = 1;
    if (is_subclass_call(type)) return ASY_OBJ(s);
    const char *name = s->bounded ? "BoundedSemaphore" : "Semaphore";
    return sem_set_value(vm, s, name, argc, argv, kw) ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue sm_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return sem_set_value(vm, sem_of(argv[0]), "__init__", argc - 1, argv + 1, kw) ? ASY_NONE
                                                                                  : ASY_ERR;
}

static bool sem_locked(AsySemaphore *s) {
    if (s->value == 0) return true;
    for (AsyTask *t = s->waiters.head; t; t = t->wnext)
        if (t->wait_state != ASY_WAIT_CANCELLED) return true;
    return false;
}

static AsyValue sem_repr(AsyVM *vm, AsyValue self) {
    AsySemaphore *s = sem_of(self);
    char extra[64];
    if (sem_locked(s))
        snprintf(extra, sizeof extra, "locked");
    else
        snprintf(extra, sizeof extra, "unlocked, value:%lld", (long long)s->value);
    return lock_style_repr(vm, &s->hdr, extra, s->waiters.len);
}

static void sem_wake_up_next(AsyVM *vm, AsySemaphore *s) {
    for (AsyTask *t = s->waiters.head; t; t = t->wnext) {
        if (t->wait_state != ASY_WAIT_PENDING) continue;
        s->value--;
        asy_task_wait_resolve(vm, t, ASY_TRUE);
        return;
    }
}

static int op_sem_acquire(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsySemaphore *s = sem_of(op->obj);
    if (!resumed) {
        if (!sem_locked(s)) {
            s->value--;
            *result = op->arg;
            return ASY_AWAIT_DONE;
        }
        if (!bind_loop(vm, &s->hdr, &s->run_id)) return ASY_AWAIT_ERROR;
        asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &s->waiters);
        return ASY_AWAIT_SUSPEND;
    }
    asy_waitlist_remove(&s->waiters, t);
    if (t->step_exc) {
        if (is_cancel(vm, ASY_OBJ(t->step_exc)) && t->wait_state != ASY_WAIT_CANCELLED) {
            s->value++;
            sem_wake_up_next(vm, s);
        }
        asy_task_take_exc(vm, t);
        return ASY_AWAIT_ERROR;
    }
    if (s->value > 0) sem_wake_up_next(vm, s);
    *result = op->arg;
    return ASY_AWAIT_DONE;
}

static AsyValue sm_acquire(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "acquire", argc)) return ASY_ERR;
    return asy_op_shared(vm, &sem_of(argv[0])->acquire_op, op_sem_acquire, "Semaphore.acquire",
                         argv[0], ASY_TRUE);
}

static AsyValue sm_aenter(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "__aenter__", argc)) return ASY_ERR;
    return asy_op_shared(vm, &sem_of(argv[0])->aenter_op, op_sem_acquire,
                         "_ContextManagerMixin.__aenter__", argv[0], ASY_NONE);
}

static AsyValue sm_release(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "release", argc)) return ASY_ERR;
    AsySemaphore *s = sem_of(argv[0]);
    if (s->bounded && s->value >= s->bound)
        return asy_raise(vm, ASY_EXC_ValueError, "BoundedSemaphore released too many times");
    s->value++;
    sem_wake_up_next(vm, s);
    return ASY_NONE;
}

static AsyValue sm_locked(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "locked", argc)) return ASY_ERR;
    return ASY_BOOL(sem_locked(sem_of(argv[0])));
}

static const AsyMethodDef sem_methods[] = {
    {"__init__", sm_init, 0, "Initialize self."},
    {"acquire", sm_acquire, 0, "Acquire a semaphore."},
    {"release", sm_release, 0, "Release a semaphore."},
    {"locked", sm_locked, 0, "Returns True if semaphore cannot be acquired immediately."},
    {"__aenter__", sm_aenter, 0, "Acquire the semaphore for `async with`."},
    {"__aexit__", prim_aexit, 0, "Release the semaphore after `async with`."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Queue, LifoQueue, PriorityQueue                                                      */
/* ==================================================================================== */

typedef enum { QUEUE_FIFO, QUEUE_LIFO, QUEUE_PRIORITY } AsyQueueKind;

typedef struct {
    AsyObj hdr;
    AsyValue *items; /* FIFO: a ring from head; LIFO: a stack; PRIORITY: a heap   */
    int64_t head, len, cap;
    int64_t maxsize; /* <= 0: unbounded                                          */
    int64_t unfinished;
    AsyWaitList getters, putters, joiners;
    AsyOp *get_op, *join_op; /* shared awaitables (asy_op_shared)                    */
    uint32_t run_id;
    uint8_t kind;
} AsyQueue;

static AsyQueue *q_of(AsyValue v) { return (AsyQueue *)ASY_AS_OBJ(v); }

static AsyValue q_item(AsyQueue *q, int64_t i) {
    return q->items[q->kind == QUEUE_FIFO ? (q->head + i) % q->cap : i];
}

static void queue_traverse(AsyVM *vm, AsyObj *o) {
    AsyQueue *q = (AsyQueue *)o;
    for (int64_t i = 0; i < q->len; i++)
        asy_gc_mark_value(vm, q_item(q, i));
    asy_waitlist_mark(vm, &q->getters);
    asy_waitlist_mark(vm, &q->putters);
    asy_waitlist_mark(vm, &q->joiners);
    asy_gc_mark_obj(vm, (AsyObj *)q->get_op);
    asy_gc_mark_obj(vm, (AsyObj *)q->join_op);
}

static void queue_finalize(AsyVM *vm, AsyObj *o) {
    AsyQueue *q = (AsyQueue *)o;
    asy_mem_free(vm, q->items, (size_t)q->cap * sizeof *q->items);
    q->items = NULL;
}

/* Queue(maxsize=0): the bound into q. */
static bool q_set_maxsize(AsyVM *vm, AsyQueue *q, const char *name, int argc, AsyValue *argv,
                          AsyDict *kw) {
    AsyValue maxsize = asy_kwarg(vm, kw, "maxsize");
    if (!asy_check_kw_done(vm, name, kw)) return false;
    if (!asy_check_args(vm, name, argc + !ASY_IS_UNDEF(maxsize), 0, 1)) return false;
    if (argc == 1) maxsize = argv[0];
    int64_t n = 0;
    if (!ASY_IS_UNDEF(maxsize) && !asy_index(vm, maxsize, &n)) return false;
    q->maxsize = n;
    return true;
}

static AsyValue queue_new(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    AsyQueue *q = asy_gc_alloc(vm, type, type->basicsize);
    q->kind = asy_is_subtype(type, ASY_AIO_TYPE(vm, PriorityQueue)) ? QUEUE_PRIORITY
              : asy_is_subtype(type, ASY_AIO_TYPE(vm, LifoQueue))   ? QUEUE_LIFO
                                                                    : QUEUE_FIFO;
    if (is_subclass_call(type)) return ASY_OBJ(q);
    return q_set_maxsize(vm, q, "Queue", argc, argv, kw) ? ASY_OBJ(q) : ASY_ERR;
}

static AsyValue qm_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    return q_set_maxsize(vm, q_of(argv[0]), "__init__", argc - 1, argv + 1, kw) ? ASY_NONE
                                                                                : ASY_ERR;
}

/* raise QueueFull: an instance without arguments, as `raise QueueFull` makes. */
static AsyValue raise_bare(AsyVM *vm, AsyType *type) {
    AsyValue e = asy_exc_new(vm, type, 0, NULL);
    return ASY_IS_ERR(e) ? e : asy_raise_value(vm, e);
}

static bool q_full(AsyQueue *q) { return q->maxsize > 0 && q->len >= q->maxsize; }

static bool q_grow(AsyVM *vm, AsyQueue *q) {
    int64_t cap = q->cap ? q->cap * 2 : 8;
    AsyValue *items = asy_mem_alloc(vm, (size_t)cap * sizeof *items);
    if (!items) return false;
    for (int64_t i = 0; i < q->len; i++)
        items[i] = q_item(q, i);
    asy_mem_free(vm, q->items, (size_t)q->cap * sizeof *q->items);
    q->items = items;
    q->cap = cap;
    q->head = 0;
    return true;
}

/* heapq on the priority queue's items: a < b, -1 on error. */
static int q_less(AsyVM *vm, AsyValue a, AsyValue b) {
    return asy_compare_bool(vm, a, b, ASY_CMP_LT);
}

static bool heap_push(AsyVM *vm, AsyQueue *q, AsyValue v) {
    int64_t i = q->len++;
    q->items[i] = v;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        int lt = q_less(vm, q->items[i], q->items[parent]);
        if (lt < 0) return false;
        if (!lt) break;
        AsyValue tmp = q->items[i];
        q->items[i] = q->items[parent];
        q->items[parent] = tmp;
        i = parent;
    }
    return true;
}

static bool heap_pop(AsyVM *vm, AsyQueue *q, AsyValue *out) {
    *out = q->items[0];
    q->items[0] = q->items[--q->len];
    for (int64_t i = 0;;) {
        int64_t c = 2 * i + 1, m = i;
        for (int64_t k = c; k <= c + 1 && k < q->len; k++) {
            int lt = q_less(vm, q->items[k], q->items[m]);
            if (lt < 0) return false;
            if (lt) m = k;
        }
        if (m == i) break;
        AsyValue tmp = q->items[i];
        q->items[i] = q->items[m];
        q->items[m] = tmp;
        i = m;
    }
    return true;
}

/* _wakeup_next: pop waiters until one that is not done, and resolve it. */
static void q_wakeup_next(AsyVM *vm, AsyWaitList *l) {
    while (l->head) {
        AsyTask *t = l->head;
        asy_waitlist_remove(l, t);
        if (asy_task_wait_resolve(vm, t, ASY_NONE)) break;
    }
}

static bool q_put_nowait(AsyVM *vm, AsyQueue *q, AsyValue item) {
    if (q_full(q)) {
        raise_bare(vm, ASY_AIO_TYPE(vm, QueueFull));
        return false;
    }
    if (q->len == q->cap && !q_grow(vm, q)) return false;
    if (q->kind == QUEUE_PRIORITY) {
        if (!heap_push(vm, q, item)) return false;
    } else if (q->kind == QUEUE_LIFO) {
        q->items[q->len++] = item;
    } else {
        q->items[(q->head + q->len) % q->cap] = item;
        q->len++;
    }
    q->unfinished++; /* _finished.clear(): join() waits while this is not 0 */
    q_wakeup_next(vm, &q->getters);
    return true;
}

static AsyValue q_get_nowait(AsyVM *vm, AsyQueue *q) {
    if (q->len == 0) return raise_bare(vm, ASY_AIO_TYPE(vm, QueueEmpty));
    AsyValue item;
    if (q->kind == QUEUE_PRIORITY) {
        if (!heap_pop(vm, q, &item)) return ASY_ERR;
    } else if (q->kind == QUEUE_LIFO) {
        item = q->items[--q->len];
    } else {
        item = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    q_wakeup_next(vm, &q->putters);
    return item;
}

/* The except clause of get()/put(): leave the list, pass a wake-up on if it was ours. */
static int q_wait_failed(AsyVM *vm, AsyQueue *q, AsyTask *t, AsyWaitList *l, bool can_go) {
    if (t->wait_state == ASY_WAIT_PENDING) t->wait_state = ASY_WAIT_CANCELLED;
    asy_waitlist_remove(l, t);
    if (can_go && t->wait_state != ASY_WAIT_CANCELLED) q_wakeup_next(vm, l);
    ASY_UNUSED(q);
    asy_task_take_exc(vm, t);
    return ASY_AWAIT_ERROR;
}

static int op_queue_get(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyQueue *q = q_of(op->obj);
    if (resumed && t->step_exc)
        return q_wait_failed(vm, q, t, &q->getters, q->len > 0);
    if (q->len == 0) { /* `while self.empty(): await getter` */
        if (!bind_loop(vm, &q->hdr, &q->run_id)) return ASY_AWAIT_ERROR;
        asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &q->getters);
        return ASY_AWAIT_SUSPEND;
    }
    *result = q_get_nowait(vm, q);
    return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
}

static int op_queue_put(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyQueue *q = q_of(op->obj);
    if (resumed && t->step_exc)
        return q_wait_failed(vm, q, t, &q->putters, !q_full(q));
    if (q_full(q)) {
        if (!bind_loop(vm, &q->hdr, &q->run_id)) return ASY_AWAIT_ERROR;
        asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &q->putters);
        return ASY_AWAIT_SUSPEND;
    }
    if (!q_put_nowait(vm, q, op->arg)) return ASY_AWAIT_ERROR;
    *result = ASY_NONE;
    return ASY_AWAIT_DONE;
}

/* join(): `if self._unfinished_tasks > 0: await self._finished.wait()`. */
static int op_queue_join(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    AsyQueue *q = q_of(op->obj);
    *result = ASY_NONE;
    if (resumed) {
        asy_waitlist_remove(&q->joiners, t);
        return asy_task_take_exc(vm, t) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
    }
    if (q->unfinished == 0) return ASY_AWAIT_DONE;
    if (!bind_loop(vm, &q->hdr, &q->run_id)) return ASY_AWAIT_ERROR;
    asy_task_wait_begin(vm, t, ASY_WAIT_LIST, &q->joiners);
    return ASY_AWAIT_SUSPEND;
}

static AsyValue qm_get(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "get", argc)) return ASY_ERR;
    return asy_op_shared(vm, &q_of(argv[0])->get_op, op_queue_get, "Queue.get", argv[0], ASY_UNDEF);
}

static AsyValue qm_put(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "put", argc - 1, 1, 1)) return ASY_ERR;
    return ASY_OBJ(asy_op_new(vm, op_queue_put, "Queue.put", argv[0], argv[1]));
}

static AsyValue qm_join(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "join", argc)) return ASY_ERR;
    return asy_op_shared(vm, &q_of(argv[0])->join_op, op_queue_join, "Queue.join", argv[0],
                         ASY_UNDEF);
}

static AsyValue qm_get_nowait(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "get_nowait", argc)) return ASY_ERR;
    return q_get_nowait(vm, q_of(argv[0]));
}

static AsyValue qm_put_nowait(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "put_nowait", argc - 1, 1, 1)) return ASY_ERR;
    return q_put_nowait(vm, q_of(argv[0]), argv[1]) ? ASY_NONE : ASY_ERR;
}

static AsyValue qm_task_done(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "task_done", argc)) return ASY_ERR;
    AsyQueue *q = q_of(argv[0]);
    if (q->unfinished <= 0)
        return asy_raise(vm, ASY_EXC_ValueError, "task_done() called too many times");
    if (--q->unfinished == 0)
        for (AsyTask *t = q->joiners.head; t; t = t->wnext)
            asy_task_wait_resolve(vm, t, ASY_TRUE);
    return ASY_NONE;
}

static AsyValue qm_qsize(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "qsize", argc)) return ASY_ERR;
    return ASY_INT(q_of(argv[0])->len);
}

static AsyValue qm_empty(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "empty", argc)) return ASY_ERR;
    return ASY_BOOL(q_of(argv[0])->len == 0);
}

static AsyValue qm_full(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!no_args(vm, "full", argc)) return ASY_ERR;
    return ASY_BOOL(q_full(q_of(argv[0])));
}

static AsyValue queue_getattr(AsyVM *vm, AsyValue self, AsyStr *name) {
    if (strcmp(name->data, "maxsize") == 0) return ASY_INT(q_of(self)->maxsize);
    return ASY_TYPE(vm, object)->getattr(vm, self, name);
}

/* CPython's Queue._format: maxsize=.. _queue=[..] _getters[n] _putters[n] tasks=n */
static AsyValue queue_format(AsyVM *vm, AsyValue self, bool with_address) {
    AsyQueue *q = q_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    const char *tn = q->hdr.type->name_str ? q->hdr.type->name_str->data : q->hdr.type->name;
    if (with_address)
        asy_strbuf_printf(vm, &b, "<%s at %p maxsize=%lld", tn, (void *)q, (long long)q->maxsize);
    else
        asy_strbuf_printf(vm, &b, "<%s maxsize=%lld", tn, (long long)q->maxsize);
    if (q->len > 0) {
        AsyList *l = asy_list_new(vm, q->len);
        if (!l) return ASY_ERR;
        for (int64_t i = 0; i < q->len; i++)
            l->items[l->len++] = q_item(q, i);
        AsyValue r = asy_repr(vm, ASY_OBJ(l));
        if (ASY_IS_ERR(r)) {
            asy_strbuf_free(&b);
            return r;
        }
        asy_strbuf_append_cstr(vm, &b, " _queue=");
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
    }
    if (q->getters.len) asy_strbuf_printf(vm, &b, " _getters[%lld]", (long long)q->getters.len);
    if (q->putters.len) asy_strbuf_printf(vm, &b, " _putters[%lld]", (long long)q->putters.len);
    if (q->unfinished) asy_strbuf_printf(vm, &b, " tasks=%lld", (long long)q->unfinished);
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue queue_repr(AsyVM *vm, AsyValue self) { return queue_format(vm, self, true); }
static AsyValue queue_str(AsyVM *vm, AsyValue self) { return queue_format(vm, self, false); }

static const AsyMethodDef queue_methods[] = {
    {"__init__", qm_init, 0, "Initialize self."},
    {"get", qm_get, 0, "Remove and return an item from the queue, waiting if empty."},
    {"put", qm_put, 0, "Put an item into the queue, waiting while it is full."},
    {"get_nowait", qm_get_nowait, 0, "Remove and return an item, or raise QueueEmpty."},
    {"put_nowait", qm_put_nowait, 0, "Put an item into the queue, or raise QueueFull."},
    {"join", qm_join, 0, "Block until all items in the queue have been processed."},
    {"task_done", qm_task_done, 0, "Indicate that a formerly enqueued task is complete."},
    {"qsize", qm_qsize, 0, "Number of items in the queue."},
    {"empty", qm_empty, 0, "Return True if the queue is empty."},
    {"full", qm_full, 0, "Return True if there are maxsize items in the queue."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Registration                                                                         */
/* ==================================================================================== */

static AsyType *queue_exc(AsyVM *vm, const char *name) {
    AsyDict *ns = asy_dict_new(vm);
    asy_dict_set_str(vm, ns, ASY_S(vm, __module__),
                     ASY_OBJ(asy_str_intern_cstr(vm, "asyncio.queues")));
    asy_dict_set_str(vm, ns, ASY_S(vm, __qualname__), ASY_OBJ(asy_str_intern_cstr(vm, name)));
    AsyValue base = ASY_OBJ(vm->exc_types[ASY_EXC_Exception]);
    AsyValue t = asy_class_new(vm, asy_str_intern_cstr(vm, name), &base, 1, ns);
    return ASY_IS_ERR(t) ? NULL : (AsyType *)ASY_AS_OBJ(t);
}

static AsyType *queue_type(AsyVM *vm, const char *name, AsyType *base) {
    AsyType *t =
        asy_type_new_builtin(vm, name, base ? base : ASY_TYPE(vm, object), sizeof(AsyQueue));
    t->module = asy_str_intern_cstr(vm, "asyncio.queues");
    t->tflags |= ASY_TYPE_BASETYPE;
    if (!base) {
        t->new_ = queue_new;
        t->traverse = queue_traverse;
        t->finalize = queue_finalize;
        t->repr = queue_repr;
        t->str = queue_str;
        t->getattr = queue_getattr;
        asy_type_add_methods(vm, t, queue_methods);
    }
    asy_type_ready(vm, t);
    return t;
}

void asy_asyncio_sync_init(AsyVM *vm, AsyModule *m) {
    AsyLoop *L = vm->loop;
    AsyType *t = prim_type(vm, "Event", "asyncio.locks", sizeof(AsyEvent));
    t->new_ = event_new;
    t->traverse = event_traverse;
    t->repr = event_repr;
    asy_type_add_methods(vm, t, event_methods);
    asy_type_ready(vm, t);
    L->types[ASY_AIO_Event] = t;

    t = prim_type(vm, "Lock", "asyncio.locks", sizeof(AsyLock));
    t->new_ = lock_new;
    t->traverse = lock_traverse;
    t->repr = lock_repr;
    asy_type_add_methods(vm, t, lock_methods);
    asy_type_ready(vm, t);
    L->types[ASY_AIO_Lock] = t;

    t = prim_type(vm, "Semaphore", "asyncio.locks", sizeof(AsySemaphore));
    t->new_ = sem_new;
    t->traverse = sem_traverse;
    t->repr = sem_repr;
    asy_type_add_methods(vm, t, sem_methods);
    asy_type_ready(vm, t);
    L->types[ASY_AIO_Semaphore] = t;
    AsyType *b = asy_type_new_builtin(vm, "BoundedSemaphore", t, sizeof(AsySemaphore));
    b->module = t->module;
    b->tflags |= ASY_TYPE_BASETYPE;
    asy_type_ready(vm, b);
    L->types[ASY_AIO_BoundedSemaphore] = b;

    L->types[ASY_AIO_Queue] = queue_type(vm, "Queue", NULL);
    L->types[ASY_AIO_LifoQueue] = queue_type(vm, "LifoQueue", L->types[ASY_AIO_Queue]);
    L->types[ASY_AIO_PriorityQueue] = queue_type(vm, "PriorityQueue", L->types[ASY_AIO_Queue]);
    L->types[ASY_AIO_QueueEmpty] = queue_exc(vm, "QueueEmpty");
    L->types[ASY_AIO_QueueFull] = queue_exc(vm, "QueueFull");
    if (!L->types[ASY_AIO_QueueEmpty] || !L->types[ASY_AIO_QueueFull]) return;

    static const AsyAioTypeId exported[] = {
        ASY_AIO_Event,     ASY_AIO_Lock,      ASY_AIO_Semaphore,     ASY_AIO_BoundedSemaphore,
        ASY_AIO_Queue,     ASY_AIO_LifoQueue, ASY_AIO_PriorityQueue, ASY_AIO_QueueEmpty,
        ASY_AIO_QueueFull,
    };
    for (size_t i = 0; i < sizeof exported / sizeof exported[0]; i++) {
        AsyType *e = L->types[exported[i]];
        asy_dict_set_str(vm, m->dict, e->name_str ? e->name_str : asy_str_intern_cstr(vm, e->name),
                         ASY_OBJ(e));
    }
}
