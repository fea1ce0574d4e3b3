/* task.h - futures, tasks and native awaitables: the objects the scheduler (loop.h) runs.
 *
 * A Future holds a result, an exception, or a cancellation, and a list of done
 * callbacks that are queued with call_soon (never run synchronously) when it completes.
 * A Task is a Future that runs a coroutine on its own fiber (fiber.h) in steps, exactly
 * as CPython's Task.__step: it starts one pass after creation, and whenever its fiber
 * suspends it waits on one thing, a future or an "implicit future" kept inside the task.
 *
 * Implicit futures: sleep, Event.wait, Lock.acquire, Queue.get... do not allocate a
 * Future per wait. The task itself carries the wait's state (wait_kind, wait_state,
 * the wait's value, and links into the primitive's waiter list), which behaves as the future
 * CPython would have made: done() is wait_state != PENDING, cancel() resolves it as
 * cancelled, and resolving it queues one wake-up of the task.
 *
 * Native awaitables (AsyOp, the type that asyncio.sleep() and friends return): `await op`
 * calls op->fn with resumed=false; the fn either finishes (DONE/ERROR) or registers the
 * task's wait and answers SUSPEND. When the task is woken, the VM re-executes the await
 * and op->fn runs again with resumed=true: it cleans up (leaves waiter lists) and either
 * raises the exception the task was woken with (t->step_exc, e.g. CancelledError) or
 * returns the result. So a cancelled wait unwinds through the same code as a normal one,
 * the way CPython's `try: await fut finally: waiters.remove(fut)` does.
 */
#ifndef ASY_TASK_H
#define ASY_TASK_H

#include "fiber.h"
#include "generator.h"
#include "loop.h"

typedef enum { ASY_FUT_PENDING, ASY_FUT_CANCELLED, ASY_FUT_FINISHED } AsyFutState;
typedef enum { ASY_FUTK_PLAIN, ASY_FUTK_TASK, ASY_FUTK_GATHER } AsyFutKind;

/* A done callback: when the future completes, fn(arg, future) is queued. */
typedef struct {
    AsyLoopFn fn;
    AsyValue arg;
} AsyFutCb;

typedef struct AsyFuture {
    AsyObj hdr;
    uint8_t state;        /* AsyFutState                                              */
    uint8_t kind;         /* AsyFutKind                                               */
    uint8_t has_exc : 1;  /* FINISHED with an exception (in result)                   */
    uint8_t log_tb : 1;   /* that exception was never retrieved                       */
    uint8_t dropped : 1;  /* a task no asy code holds (asy_task_dropped): reported when it
                             fails, at once, as CPython does when its last reference goes */
    uint8_t cb_log2;      /* room for 1 << cb_log2 callbacks (a byte, not a uint32, so
                             that the flags and ncb share 8 bytes)                    */
    uint32_t ncb;
    AsyValue result;      /* the result, or the exception; CANCELLED: the CancelledError
                             to re-raise (UNDEF: make one from cancel_msg). A pending
                             Task keeps its implicit future's value here (its result, or
                             cancel message: asy_task_wait_value)                       */
    AsyTuple *extra;      /* what few futures have (asy_future_cancel_msg, a task's name
                             and creation site): NULL until one is set. A tuple only as
                             a GC-marked box; never seen by asy code                  */
    union {               /* the callbacks: one inline while cb_log2 == 0, else a buffer
                             of 1 << cb_log2 (asy_future_cbs): 8 bytes less than both */
        AsyFutCb cb_inline;
        AsyFutCb *cb_heap;
    };
} AsyFuture;

static inline AsyFutCb *asy_future_cbs(AsyFuture *f) {
    return f->cb_log2 ? f->cb_heap : &f->cb_inline;
}

typedef enum { ASY_WAIT_NONE, ASY_WAIT_SLEEP, ASY_WAIT_LIST } AsyWaitKind;
typedef enum { ASY_WAIT_PENDING, ASY_WAIT_DONE, ASY_WAIT_CANCELLED } AsyWaitState;

/* An intrusive FIFO of tasks waiting on a primitive (a task waits on one thing at a time). */
typedef struct {
    AsyTask *head, *tail;
    int64_t len;
} AsyWaitList;

/* Where a coroutine task's fiber stands (AsyTask.fiber). */
typedef enum {
    ASY_TASKF_NEW,      /* not started: no fiber yet                                     */
    ASY_TASKF_OWN,      /* running, or suspended with a fiber of its own                 */
    ASY_TASKF_PARKED,   /* suspended in the coroutine's only frame, no fiber (below)     */
    ASY_TASKF_DONE,     /* the coroutine has ended (or was cancelled before it started)  */
} AsyTaskFiberState;

struct AsyTask {
    AsyFuture fut;
    AsyObj *coro;           /* the coroutine (or an AsyOp run as a task)               */
    /* What it waits on, one pointer for two roles (asy_task_fut_waiter and
     * asy_task_native_wait): the future it waits on (wait_for= in the repr), and the
     * native awaitable its fiber is suspended in. Both are set only when they are the
     * same object (awaiting a future), so one pointer and two flags hold them. */
    AsyObj *waiting;
    /* While the task runs: the exception this step delivers (NULL: none). While it waits
     * in a chain of the ready queue (loop.h: a run of handles of one kind, one per task),
     * the chain's link instead: the next task | ASY_READY_CHAINED (| ASY_READY_STALE). A
     * running task is never chained, and one stepped while chained has its link kept
     * aside meanwhile (task.c: task_hold_link), so the two uses never meet. */
    union {
        AsyObj *step_exc;
        uintptr_t ready_link;
    };
    AsyTask *wnext, *wprev; /* in the waiter list it waits in (asy_waitlist_has)       */
    /* The loop's list of tasks, newest first: the unfinished ones, and finished ones not
     * yet pruned (asy_task_list_prune, before the list is marked or read). Singly linked,
     * so that a task costs 8 bytes for it, not 16. */
    AsyTask *anext;
    /* The fiber its coroutine runs on (asy_fiber_take), NULL before it starts, once it
     * has ended, and while it is parked: suspended in its only frame, which is the
     * coroutine's own (frames_borrowed), on the coroutine's own slots (stack_borrowed),
     * handling no exception. Then the fiber says nothing the coroutine does not (its
     * frame, its slots, and the fiber's sp kept in the coroutine's depth, see
     * asy_task_fiber_view), so the task gives the struct back between steps: a waiting
     * task costs 8 bytes for it, not 48. A task suspended deeper keeps its fiber. */
    AsyFiber *fiber;
    uint32_t num;           /* Task-<num>; 0 when the counter had outgrown 32 bits (the
                               name was made at creation then)                         */
    uint32_t wait_gen;      /* bumped per implicit wait: stale timer wake-ups drop     */
    int32_t num_cancels;    /* cancel() calls not yet undone by uncancel()             */
    uint8_t wait_kind, wait_state;
    uint8_t fiber_state;    /* AsyTaskFiberState (a coroutine task's)                  */
    uint8_t must_cancel : 1;
    uint8_t created_debug : 1; /* created_at was taken in debug mode: the repr shows it */
    uint8_t coro_task : 1;  /* it runs a coroutine on a fiber (else coro is an AsyOp)  */
    uint8_t in_native : 1;  /* `waiting` is its native_wait                             */
    uint8_t on_future : 1;  /* `waiting` is its fut_waiter                              */
    uint8_t agen_op : 2;    /* made of an async generator's asend (1) or athrow (2)
                               awaitable, which coro (a hidden coroutine) awaits       */
};
_Static_assert(sizeof(AsyTask) <= 144, "a Task takes at most 144 bytes (bench/memory.asy)");

/* Unlink the finished tasks from the loop's task list (L->tasks); every reader and the
 * collector's marking call it first. */
void asy_task_list_prune(AsyLoop *L);

/* The slots of AsyFuture.extra. */
enum { ASY_FX_CANCEL_MSG, ASY_FX_NAME, ASY_FX_CREATED_AT, ASY_FX_COUNT };
static inline AsyValue asy_future_extra_get(const AsyFuture *f, int slot) {
    return f->extra ? f->extra->items[slot] : ASY_UNDEF;
}
/* The cancel message: UNDEF when cancelled without one. */
static inline AsyValue asy_future_cancel_msg(const AsyFuture *f) {
    return asy_future_extra_get(f, ASY_FX_CANCEL_MSG);
}
/* A task's name (a str), or NULL: "Task-<num>" (made when first asked for). */
static inline AsyObj *asy_task_name(const AsyTask *t) {
    AsyValue v = asy_future_extra_get(&t->fut, ASY_FX_NAME);
    return ASY_IS_OBJ(v) ? ASY_AS_OBJ(v) : NULL;
}
/* Debug mode or --dump-tasks: "file:line" where the task was created, or NULL. */
static inline AsyStr *asy_task_created_at(const AsyTask *t) {
    AsyValue v = asy_future_extra_get(&t->fut, ASY_FX_CREATED_AT);
    return ASY_IS_OBJ(v) ? (AsyStr *)ASY_AS_OBJ(v) : NULL;
}
/* Set one of f's extra slots (the box is made on first use). */
void asy_future_extra_set(AsyVM *vm, AsyFuture *f, int slot, AsyValue v);

/* The value of a task's implicit future once resolved (the result, or the cancel
 * message), in the task's own result field: a pending task has no result of its own. */
static inline AsyValue asy_task_wait_value(const AsyTask *t) { return t->fut.result; }

/* The future the task waits on, or NULL. */
static inline AsyFuture *asy_task_fut_waiter(const AsyTask *t) {
    return t->on_future ? (AsyFuture *)t->waiting : NULL;
}
/* The native awaitable its fiber is suspended in (re-executed on resume), or NULL. */
static inline AsyObj *asy_task_native_wait(const AsyTask *t) {
    return t->in_native ? t->waiting : NULL;
}
static inline void asy_task_set_fut_waiter(AsyTask *t, AsyFuture *f) {
    t->on_future = f != NULL;
    if (f) t->waiting = &f->hdr;
    else if (!t->in_native) t->waiting = NULL;
}
static inline void asy_task_set_native_wait(AsyTask *t, AsyObj *o) {
    t->in_native = o != NULL;
    if (o) t->waiting = o;
    else if (!t->on_future) t->waiting = NULL;
}

/* The task's fiber as it stands, for reading (dumps, reprs): its own, or for a parked
 * task the one it would resume on, described in *view. NULL for an AsyOp task, before
 * the coroutine starts and once it has ended. */
const AsyFiber *asy_task_fiber_view(const AsyTask *t, AsyFiber *view);
/* The code of the task's coroutine (kept once it has finished), NULL for an AsyOp task. */
static inline AsyCode *asy_task_code(const AsyTask *t) {
    return t->coro_task ? ((const AsyGenerator *)t->coro)->frame.code : NULL;
}

/* A native awaitable. fn: see the top of this file. */
typedef struct AsyOp AsyOp;
typedef int (*AsyOpFn)(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result);
struct AsyOp {
    AsyObj hdr;
    AsyOpFn fn;
    const char *name;       /* its coroutine name in reprs and warnings: "sleep"        */
    AsyValue obj, arg;      /* fn's operands                                           */
    double num;
    uint8_t awaited;
    uint8_t state;          /* fn's own                                                */
    int32_t created_line;   /* where it was made, for the never-awaited warning        */
    AsyStr *created_file;   /* (interned; NULL: made outside asy code)                 */
};

#define ASY_AIO_TYPE(vm, n) (((AsyLoop *)(vm)->loop)->types[ASY_AIO_##n])
/* The coroutine name of an AsyOp that was never awaited and would warn if freed now, else
 * NULL (also for anything not an AsyOp). */
const char *asy_op_unawaited_name(AsyVM *vm, AsyObj *o);

/* ---- futures ---- */
AsyFuture *asy_future_new(AsyVM *vm);
bool asy_is_future(AsyVM *vm, AsyValue v);     /* Future, Task, gather's, subclasses */
/* Complete a pending future; InvalidStateError when it is done. false on error. */
bool asy_future_set_result(AsyVM *vm, AsyFuture *f, AsyValue v);
bool asy_future_set_exception(AsyVM *vm, AsyFuture *f, AsyValue exc);
/* fut.cancel(msg): Future, Task and gather semantics. msg UNDEF for none. */
bool asy_future_cancel(AsyVM *vm, AsyFuture *f, AsyValue msg);
/* fut.result(): the value, or ASY_ERR with the exception raised (marks it retrieved). */
AsyValue asy_future_result(AsyVM *vm, AsyFuture *f);
/* fut.exception(): None or the exception (ERR when pending or cancelled). */
AsyValue asy_future_exception(AsyVM *vm, AsyFuture *f);
/* The CancelledError a cancelled future raises. */
AsyValue asy_future_cancelled_error(AsyVM *vm, AsyFuture *f);
bool asy_future_add_cb(AsyVM *vm, AsyFuture *f, AsyLoopFn fn, AsyValue arg);
/* Remove callbacks fn(arg) (arg compared by identity, or by == for user callables);
 * returns how many, -1 on error. */
int64_t asy_future_remove_cb(AsyVM *vm, AsyFuture *f, AsyLoopFn fn, AsyValue arg);
/* A callback that calls the asy callable `arg` with the future. */
void asy_future_cb_call(AsyVM *vm, AsyValue arg, AsyValue fut);

/* ---- tasks ---- */
/* create_task(coro, name=name): the coroutine (or AsyOp) is checked by the caller. */
AsyTask *asy_task_new(AsyVM *vm, AsyValue coro, AsyValue name);
bool asy_task_cancel(AsyVM *vm, AsyTask *t, AsyValue msg);
AsyTask *asy_task_current(AsyVM *vm);            /* NULL outside a task              */
void asy_task_mark_list(AsyVM *vm, AsyTask *head);
/* Run the loop until f is done. false with an exception pending (KeyboardInterrupt or
 * SystemExit from a task or callback). */
bool asy_loop_run_until_done(AsyVM *vm, AsyFuture *f);
/* Print "Task exception was never retrieved" for every failed future nobody looked at. */
void asy_task_report_unretrieved(AsyVM *vm);
/* Asy code gets hold of t again (current_task, all_tasks, a done callback): it is no
 * longer a dropped task. */
static inline void asy_task_held(AsyTask *t) { t->fut.dropped = 0; }
/* Log an error from a callback or a task the way asyncio's default exception handler
 * does: message, then "future: <repr>" / "handle: <repr>" (label NULL: none), then the
 * traceback. Clears the pending exception `exc`. */
void asy_loop_log_error(AsyVM *vm, const char *message, const char *label, AsyValue obj,
                        AsyException *exc);
/* Debug mode: "Executing <Task ...> took 0.151 seconds" for a slow handle (loop.c). */
void asy_loop_log_slow(AsyVM *vm, const AsyHandle *h, double dt);
/* Is this timer entry one whose firing would be dropped (a cancelled TimerHandle, the
 * timer of a sleep that was cancelled)? task.c, with mod_asyncio.c's asy_handle_dead for
 * TimerHandles. */
bool asy_timer_dead(AsyVM *vm, const AsyHandle *h);
bool asy_handle_dead(AsyVM *vm, const AsyHandle *h);
/* The loop's reaction to Ctrl-C (loop.c calls it): the first cancels the main task, a
 * second one stops everything with KeyboardInterrupt. */
void asy_asyncio_on_sigint(AsyVM *vm);
/* The same for a Ctrl-C noticed at a safepoint of running code (loop.c's vm->sigint_hook):
 * after the press that cancels the main task, KeyboardInterrupt is raised right there, in
 * the running coroutine, as CPython's handler raises it (-1 with it pending; 0: none). */
int asy_asyncio_sigint_in_task(AsyVM *vm);

/* ---- implicit futures (for the primitives) ---- */
/* Start waiting: kind, and the list to join (NULL for none). */
void asy_task_wait_begin(AsyVM *vm, AsyTask *t, AsyWaitKind kind, AsyWaitList *list);
/* Resolve a pending wait with a result (queues the wake-up); false if it was not pending. */
bool asy_task_wait_resolve(AsyVM *vm, AsyTask *t, AsyValue result);
/* Is t in l? A task is in one waiter list at most, the one its current wait joined (the
 * awaitable that made it join is the only code that resumes it meanwhile, and it leaves
 * or is taken off that list first), so a task with a predecessor is in l whenever the
 * caller passes the list that wait joined; l's head has none. The task keeps no pointer
 * to its list (8 bytes per task): every caller knows which list it means. */
static inline bool asy_waitlist_has(const AsyWaitList *l, const AsyTask *t) {
    return t->wprev != NULL || l->head == t;
}
/* Leave l, if in it. l must be the list t's current wait joined, or one it is not in
 * while it waits in no other (asy_waitlist_has). */
void asy_waitlist_remove(AsyWaitList *l, AsyTask *t);
void asy_waitlist_mark(AsyVM *vm, AsyWaitList *l);
/* On resume: the exception to raise (sets it pending and returns true), else false. */
bool asy_task_take_exc(AsyVM *vm, AsyTask *t);

/* ---- native awaitables ---- */
AsyOp *asy_op_new(AsyVM *vm, AsyOpFn fn, const char *name, AsyValue obj, AsyValue arg);
/* The awaitable a primitive hands out for an argument-less wait (Event.wait, Lock.acquire,
 * Queue.get...): one shared object per primitive and kind, made on first use in *slot. The
 * wait's state lives in the task, so many tasks can await it at once; the only thing
 * lost is CPython's error for awaiting the same call's result twice. */
AsyValue asy_op_shared(AsyVM *vm, AsyOp **slot, AsyOpFn fn, const char *name, AsyValue obj,
                       AsyValue arg);
/* An awaitable that returns v at once, without suspending (an `async def` with no await). */
AsyValue asy_op_value(AsyVM *vm, AsyValue v);
/* asyncio.sleep(delay, result): sleep(0) without a result is one shared object. */
AsyValue asy_sleep_op(AsyVM *vm, double delay, AsyValue result);
/* Awaiting what asyncio treats as a coroutine: a coroutine or an AsyOp. */
bool asy_aio_is_coroutine(AsyVM *vm, AsyValue v);

/* The primitives (asyncio_sync.c) and the parts written in asy (asyncio_lib.c), added to
 * the asyncio module by asy_mod_asyncio_init: the latter, and the streams, as lazy parts
 * made on first use of their names. */
void asy_asyncio_sync_init(AsyVM *vm, AsyModule *m);
void asy_asyncio_lib_init(AsyVM *vm, AsyModule *m);
/* Streams and subprocesses (asyncio_streams.c, asyncio_subprocess.c): the part and the
 * names it adds to asyncio. */
void asy_asyncio_streams_init(AsyVM *vm, AsyModule *m);
extern const char *const asy_asyncio_streams_names[];
/* asyncio.subprocess, made and registered in sys.modules at import, as in CPython; its
 * names, and asyncio's `subprocess`, come with the streams part (asyncio_subprocess.c). */
void asy_asyncio_subprocess_module(AsyVM *vm);

/* Types (task.c): Future, Task, _GatheringFuture, the op type. */
void asy_task_init_types(AsyVM *vm);
/* Between task.c and gather.c: a zeroed future of `type` (a Future subtype), its GC
 * marking, completing one with an exception (logged if never retrieved), CancelledError(msg)
 * (no message for UNDEF or None). */
AsyFuture *asy_future_alloc(AsyVM *vm, AsyType *type, AsyFutKind kind);
void asy_future_traverse(AsyVM *vm, AsyObj *o);
void asy_future_store_exception(AsyVM *vm, AsyFuture *f, AsyValue exc);
AsyValue asy_cancelled_error_new(AsyVM *vm, AsyValue msg);

/* gather.c: gather(*aws, return_exceptions=); the gathering future's cancel() and the done
 * callback it puts on each child; its type (after Future's). */
AsyValue asy_gather(AsyVM *vm, int argc, AsyValue *argv, bool return_exceptions);
bool asy_gather_cancel(AsyVM *vm, AsyFuture *f, AsyValue msg);
void asy_gather_child_done(AsyVM *vm, AsyValue a, AsyValue b);
void asy_gather_init_type(AsyVM *vm);
/* ensure_future(aw): a future as is, a coroutine wrapped in a task; TypeError else. */
AsyValue asy_ensure_future(AsyVM *vm, AsyValue aw);
/* reprlib.c: reprlib.repr(v) (asyncio shows results through it). */
AsyValue asy_reprlib(AsyVM *vm, AsyValue v);

#endif
