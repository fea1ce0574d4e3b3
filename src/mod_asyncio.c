/* mod_asyncio.c - the asyncio module: asyncio.run and the loop object scripts see
 * (get_running_loop(), call_soon/call_later handles, run_until_complete), create_task,
 * sleep, gather, current_task, all_tasks and the module's names. Futures and tasks are
 * task.c's, the synchronisation primitives asyncio_sync.c's, and the rarer APIs written in
 * asy itself (wait_for, wait, as_completed, shield, timeout, TaskGroup, Condition)
 * asyncio_lib.c's.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "function.h"
#include "asyncgen.h"
#include "task.h"

static AsyLoop *loop_of(AsyVM *vm) { return vm->loop; }

/* ==================================================================================== */
/* The loop object                                                                      */
/* ==================================================================================== */

typedef struct {
    AsyObj hdr;
    uint32_t id; /* primitives bound to this loop remember it (AsyLoop.run_id) */
    bool closed;
    bool debug;
} AsyLoopObj;

/* CPython's coroutines._is_debug_mode(): -X dev, or PYTHONASYNCIODEBUG set to anything
 * non-empty; asy also takes ASYNCIO_DEBUG set to anything but "" or "0". */
static bool debug_mode_default(AsyVM *vm) {
    const char *py = getenv("PYTHONASYNCIODEBUG"), *own = getenv("ASYNCIO_DEBUG");
    return vm->dev_mode || (py && *py) || (own && *own && strcmp(own, "0") != 0);
}

static AsyLoopObj *loopobj_new(AsyVM *vm) {
    AsyLoopObj *lo = asy_gc_alloc(vm, ASY_AIO_TYPE(vm, Loop), sizeof(AsyLoopObj));
    lo->id = ++loop_of(vm)->loop_serial;
    lo->debug = debug_mode_default(vm); /* as BaseEventLoop.__init__ */
    return lo;
}

static bool loopobj_running(AsyVM *vm, AsyValue self) {
    AsyLoop *L = loop_of(vm);
    return L->running && L->loop_obj == ASY_AS_OBJ(self);
}

static AsyValue no_running_loop(AsyVM *vm) {
    return asy_raise(vm, ASY_EXC_RuntimeError, "no running event loop");
}

static AsyValue running_loop(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    if (!L->running || !L->loop_obj) return no_running_loop(vm);
    return ASY_OBJ(L->loop_obj);
}

/* ---- handles: call_soon / call_later / call_at ---- */

typedef struct {
    AsyObj hdr;
    AsyValue callback;
    AsyTuple *args;
    double when;
    bool timer;
    bool cancelled;
    bool scheduled; /* a timer still in the heap                                     */
} AsyHandleObj;

static void handle_traverse(AsyVM *vm, AsyObj *o) {
    AsyHandleObj *h = (AsyHandleObj *)o;
    asy_gc_mark_value(vm, h->callback);
    asy_gc_mark_obj(vm, (AsyObj *)h->args);
}

/* "print(1)" or "f(1, 'x') at file.asy:3": asyncio's _format_callback_source. */
static AsyStr *handle_describe(AsyVM *vm, AsyHandleObj *h) {
    AsyStrBuf b;
    asy_strbuf_init(&b);
    AsyValue fn = h->callback;
    AsyValue q = asy_getattr_opt(vm, fn, ASY_S(vm, __qualname__));
    if (ASY_IS_ERR(q)) asy_exc_clear(vm);
    if (!ASY_IS_OBJ(q) || !asy_isinstance(vm, q, ASY_TYPE(vm, str))) q = asy_repr(vm, fn);
    if (ASY_IS_ERR(q))
        asy_exc_clear(vm);
    else
        asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(q));
    asy_strbuf_append_cstr(vm, &b, "(");
    for (int64_t i = 0; h->args && i < h->args->len; i++) {
        if (i) asy_strbuf_append_cstr(vm, &b, ", ");
        AsyValue r = asy_reprlib(vm, h->args->items[i]);
        if (ASY_IS_ERR(r))
            asy_exc_clear(vm);
        else
            asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(r));
    }
    asy_strbuf_append_cstr(vm, &b, ")");
    if (asy_is_function(vm, fn)) {
        AsyCode *c = ((AsyFunction *)ASY_AS_OBJ(fn))->code;
        asy_strbuf_printf(vm, &b, " at %s:%d", c->filename ? c->filename->data : "?",
                          (int)c->firstline);
    }
    return asy_strbuf_finish(vm, &b);
}

static AsyValue handle_repr(AsyVM *vm, AsyValue self) {
    AsyHandleObj *h = (AsyHandleObj *)ASY_AS_OBJ(self);
    const char *kind = h->timer ? "TimerHandle" : "Handle";
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_strbuf_printf(vm, &b, "<%s", kind);
    if (h->cancelled) asy_strbuf_append_cstr(vm, &b, " cancelled");
    if (h->timer) {
        AsyValue w = asy_float_repr(vm, h->when);
        if (!ASY_IS_ERR(w)) {
            asy_strbuf_append_cstr(vm, &b, " when=");
            asy_strbuf_append_str(vm, &b, (AsyStr *)ASY_AS_OBJ(w));
        }
    }
    if (!h->cancelled) {
        AsyStr *d = handle_describe(vm, h);
        if (d) {
            asy_strbuf_append_cstr(vm, &b, " ");
            asy_strbuf_append_str(vm, &b, d);
        }
    }
    asy_strbuf_append_cstr(vm, &b, ">");
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

/* The ready-queue side of a handle: a = the handle. */
static void handle_run(AsyVM *vm, AsyValue a, AsyValue b) {
    ASY_UNUSED(b);
    AsyHandleObj *h = (AsyHandleObj *)ASY_AS_OBJ(a);
    h->scheduled = false;
    if (h->cancelled) return;
    AsyTuple *args = h->args;
    AsyValue r = asy_call(vm, h->callback, (int)args->len, args->items, NULL);
    if (!ASY_IS_ERR(r)) return;
    AsyException *e = vm->exc;
    asy_exc_clear(vm);
    if (asy_exc_is(vm, ASY_OBJ(e), vm->exc_types[ASY_EXC_KeyboardInterrupt]) ||
        asy_exc_is(vm, ASY_OBJ(e), vm->exc_types[ASY_EXC_SystemExit])) {
        loop_of(vm)->fatal = e;
        return;
    }
    asy_root_push(vm, ASY_OBJ(e));
    AsyStr *d = handle_describe(vm, h);
    AsyValue hr = handle_repr(vm, a);
    if (d && !ASY_IS_ERR(hr)) {
        fflush(vm->out ? vm->out : stdout);
        FILE *err = vm->err ? vm->err : stderr;
        fprintf(err, "Exception in callback %s\nhandle: %s\n", d->data,
                ((AsyStr *)ASY_AS_OBJ(hr))->data);
        asy_traceback_print(vm, e, err);
    } else {
        asy_exc_clear(vm);
    }
    asy_root_pop(vm, 1);
}

bool asy_handle_dead(AsyVM *vm, const AsyHandle *h) {
    ASY_UNUSED(vm);
    return h->fn == handle_run && ((AsyHandleObj *)ASY_AS_OBJ(h->a))->cancelled;
}

static AsyValue hm_cancel(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "cancel", argc - 1, 0, 0)) return ASY_ERR;
    AsyHandleObj *h = (AsyHandleObj *)ASY_AS_OBJ(argv[0]);
    if (!h->cancelled && h->scheduled) {
        h->cancelled = true;
        asy_loop_timer_cancelled(vm);
    }
    h->cancelled = true;
    h->callback = ASY_NONE; /* as CPython: a cancelled handle drops its callback */
    h->args = vm->empty_tuple;
    return ASY_NONE;
}

static AsyValue hm_cancelled(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "cancelled", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(((AsyHandleObj *)ASY_AS_OBJ(argv[0]))->cancelled);
}

static AsyValue hm_when(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "when", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_FLOAT(((AsyHandleObj *)ASY_AS_OBJ(argv[0]))->when);
}

static const AsyMethodDef handle_methods[] = {
    {"cancel", hm_cancel, 0, "Cancel the call."},
    {"cancelled", hm_cancelled, 0, "Return True if the call was cancelled."},
    {"when", hm_when, 0, "Return the scheduled time (TimerHandle)."},
    {NULL, NULL, 0, NULL},
};

/* call_soon(callback, *args) / call_later(delay, ...) / call_at(when, ...). */
static AsyValue schedule_handle(AsyVM *vm, int argc, AsyValue *argv, bool timer, double when,
                                const char *fname) {
    if (argc < 1)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "%s() missing 1 required "
                         "positional argument: 'callback'",
                         fname);
    AsyHandleObj *h = asy_gc_alloc(vm, ASY_AIO_TYPE(vm, Handle), sizeof(AsyHandleObj));
    h->callback = argv[0];
    h->args = asy_tuple_from_array(vm, argv + 1, argc - 1);
    h->timer = timer;
    h->when = when;
    h->scheduled = timer;
    bool ok = timer ? asy_loop_call_at(vm, when, handle_run, ASY_OBJ(h), ASY_UNDEF)
                    : asy_loop_call_soon(vm, handle_run, ASY_OBJ(h), ASY_UNDEF);
    return ok ? ASY_OBJ(h) : ASY_ERR;
}

static bool get_double(AsyVM *vm, AsyValue v, double *out) {
    if (ASY_IS_INTLIKE(v)) {
        *out = (double)ASY_AS_INT(v);
        return true;
    }
    if (ASY_IS_FLOAT(v)) {
        *out = ASY_AS_FLOAT(v);
        return true;
    }
    if (!asy_isinstance(vm, v, ASY_TYPE(vm, int)) && !asy_isinstance(vm, v, ASY_TYPE(vm, float))) {
        asy_raise(vm, ASY_EXC_TypeError, "'%s' object cannot be interpreted as a number",
                  asy_type_name(vm, v));
        return false;
    }
    return asy_to_double(vm, v, out);
}

static AsyValue lm_call_soon(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    asy_kwarg(vm, kw, "context");
    if (!asy_check_kw_done(vm, "call_soon", kw)) return ASY_ERR;
    return schedule_handle(vm, argc - 1, argv + 1, false, 0, "call_soon");
}

static AsyValue lm_call_later(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    double d;
    asy_kwarg(vm, kw, "context");
    if (!asy_check_kw_done(vm, "call_later", kw)) return ASY_ERR;
    if (argc < 2)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "call_later() missing 2 required "
                         "positional arguments: 'delay' and 'callback'");
    if (!get_double(vm, argv[1], &d)) return ASY_ERR;
    return schedule_handle(vm, argc - 2, argv + 2, true, asy_loop_time() + d, "call_later");
}

static AsyValue lm_call_at(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    double when;
    asy_kwarg(vm, kw, "context");
    if (!asy_check_kw_done(vm, "call_at", kw)) return ASY_ERR;
    if (argc < 2)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "call_at() missing 2 required "
                         "positional arguments: 'when' and 'callback'");
    if (!get_double(vm, argv[1], &when)) return ASY_ERR;
    return schedule_handle(vm, argc - 2, argv + 2, true, when, "call_at");
}

static AsyValue lm_time(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "time", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_FLOAT(asy_loop_time());
}

static AsyValue lm_create_future(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "create_future", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(asy_future_new(vm));
}

/* asyncio.create_task spends a Task-N number even for a named task (it names the task
 * after loop.create_task made it); loop.create_task(coro, name=) and Task() do not. */
static AsyValue create_task_common(AsyVM *vm, AsyValue coro, AsyDict *kw, bool always_number) {
    AsyValue name = asy_kwarg(vm, kw, "name");
    asy_kwarg(vm, kw, "context");
    if (!asy_check_kw_done(vm, "create_task", kw)) return ASY_ERR;
    /* loop.create_task on a loop that is not running yet is fine: the task runs when it
     * does. asyncio.create_task needs a running loop. */
    if (always_number && !loop_of(vm)->running) return no_running_loop(vm);
    if (!asy_aio_is_coroutine(vm, coro))
        return asy_raise(vm, ASY_EXC_TypeError, "a coroutine was expected, got %R", coro);
    if (ASY_IS_NONE(name)) name = ASY_UNDEF;
    if (!ASY_IS_UNDEF(name)) {
        name = asy_str(vm, name);
        if (ASY_IS_ERR(name)) return name;
    }
    if (always_number) loop_of(vm)->create_site = "tasks.py:384";
    AsyTask *t = asy_task_new(vm, coro, name);
    if (t && !always_number && !ASY_IS_UNDEF(name)) loop_of(vm)->task_counter--;
    return t ? ASY_OBJ(t) : ASY_ERR;
}

static AsyValue lm_create_task(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_args(vm, "create_task", argc - 1, 1, 1)) return ASY_ERR;
    return create_task_common(vm, argv[1], kw, false);
}

static AsyValue lm_is_running(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "is_running", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(loopobj_running(vm, argv[0]));
}

static AsyValue lm_is_closed(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "is_closed", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(((AsyLoopObj *)ASY_AS_OBJ(argv[0]))->closed);
}

static AsyValue lm_get_debug(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_debug", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(((AsyLoopObj *)ASY_AS_OBJ(argv[0]))->debug);
}

static AsyValue lm_set_debug(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set_debug", argc - 1, 1, 1)) return ASY_ERR;
    int b = asy_truthy(vm, argv[1]);
    if (b < 0) return ASY_ERR;
    ((AsyLoopObj *)ASY_AS_OBJ(argv[0]))->debug = b;
    if (loopobj_running(vm, argv[0])) loop_of(vm)->debug = b;
    return ASY_NONE;
}

static AsyValue lm_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    if (loopobj_running(vm, argv[0]))
        return asy_raise(vm, ASY_EXC_RuntimeError, "Cannot close a running event loop");
    ((AsyLoopObj *)ASY_AS_OBJ(argv[0]))->closed = true;
    return ASY_NONE;
}

static AsyValue run_until_complete(AsyVM *vm, AsyValue loopobj, AsyValue aw);

static AsyValue lm_run_until_complete(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "run_until_complete", argc - 1, 1, 1)) return ASY_ERR;
    return run_until_complete(vm, argv[0], argv[1]);
}

static void loop_begin(AsyVM *vm, AsyLoopObj *lo);
static void loop_end(AsyVM *vm);

/* loop.run_forever(): until loop.stop(); the pass that calls stop() runs to its end. */
static AsyValue lm_run_forever(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "run_forever", argc - 1, 0, 0)) return ASY_ERR;
    AsyLoop *L = loop_of(vm);
    AsyLoopObj *lo = (AsyLoopObj *)ASY_AS_OBJ(argv[0]);
    if (lo->closed) return asy_raise(vm, ASY_EXC_RuntimeError, "Event loop is closed");
    if (L->running)
        return asy_raise(vm, ASY_EXC_RuntimeError, "This event loop is already running");
    loop_begin(vm, lo);
    bool ok = true;
    while (ok && !L->stopping)
        ok = asy_loop_run_once(vm);
    L->stopping = false;
    loop_end(vm);
    return ok ? ASY_NONE : ASY_ERR;
}

static AsyValue lm_stop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argv);
    if (!asy_check_args(vm, "stop", argc - 1, 0, 0)) return ASY_ERR;
    loop_of(vm)->stopping = true;
    return ASY_NONE;
}

static AsyValue lm_shutdown_asyncgens(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "shutdown_asyncgens", argc - 1, 0, 0)) return ASY_ERR;
    return asy_agen_shutdown_coro(vm);
}

static AsyValue loopobj_repr(AsyVM *vm, AsyValue self) {
    AsyLoopObj *l = (AsyLoopObj *)ASY_AS_OBJ(self);
    return ASY_OBJ(asy_str_printf(vm, "<_UnixSelectorEventLoop running=%s closed=%s debug=%s>",
                                  loopobj_running(vm, self) ? "True" : "False",
                                  l->closed ? "True" : "False", l->debug ? "True" : "False"));
}

static const AsyMethodDef loop_methods[] = {
    {"time", lm_time, 0, "Return the time according to the event loop's clock."},
    {"call_soon", lm_call_soon, 0, "Arrange for a callback to be called as soon as possible."},
    {"call_later", lm_call_later, 0, "Arrange for a callback to be called after delay seconds."},
    {"call_at", lm_call_at, 0, "Like call_later(), but uses an absolute time."},
    {"create_future", lm_create_future, 0, "Create a Future object attached to the loop."},
    {"create_task", lm_create_task, 0, "Schedule a coroutine object."},
    {"is_running", lm_is_running, 0, "Return whether the event loop is currently running."},
    {"is_closed", lm_is_closed, 0, "Returns True if the event loop was closed."},
    {"get_debug", lm_get_debug, 0, "Return the debug mode of the loop."},
    {"set_debug", lm_set_debug, 0, "Set the debug mode of the loop."},
    {"close", lm_close, 0, "Close the event loop."},
    {"run_until_complete", lm_run_until_complete, 0, "Run until the future is done."},
    {"run_forever", lm_run_forever, 0, "Run the event loop until stop() is called."},
    {"stop", lm_stop, 0, "Stop the event loop after the current pass."},
    {"shutdown_asyncgens", lm_shutdown_asyncgens, 0,
     "Shutdown all active asynchronous generators."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* Running                                                                              */
/* ==================================================================================== */

/* A pass that never blocks: CPython's loop stops one pass after the awaited future is
 * done (its _run_until_complete_cb runs then), and what else is ready runs in it too. */
static void stop_marker(AsyVM *vm, AsyValue a, AsyValue b) {
    ASY_UNUSED(vm);
    ASY_UNUSED(a);
    ASY_UNUSED(b);
}

static bool run_pass_nonblocking(AsyVM *vm) {
    /* Something ready keeps the pass from blocking, as CPython's stop callback does. */
    if (!asy_loop_call_soon(vm, stop_marker, ASY_UNDEF, ASY_UNDEF)) return false;
    return asy_loop_run_once(vm);
}

static void loop_begin(AsyVM *vm, AsyLoopObj *lo) {
    AsyLoop *L = loop_of(vm);
    L->running = true;
    L->debug = lo->debug;
    L->run_id = lo->id;
    L->interrupts = 0;
    L->loop_obj = &lo->hdr;
    asy_loop_watch_sigint(vm, true);
}

static void loop_end(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    L->debug = false;
    asy_loop_watch_sigint(vm, false);
    L->running = false;
    L->main_task = NULL;
}

/* asyncio.run's shutdown: cancel what is left, wait for it, report failures. */
static bool cancel_all_tasks(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    asy_task_list_prune(L);
    if (!L->tasks) return true;
    int64_t n = 0;
    for (AsyTask *t = L->tasks; t; t = t->anext)
        n++;
    AsyList *left = asy_list_new(vm, n);
    if (!left) return false;
    left->len = n;
    for (AsyTask *t = L->tasks; t; t = t->anext)
        left->items[--n] = ASY_OBJ(t); /* oldest first */
    asy_root_push(vm, ASY_OBJ(left));
    for (int64_t i = 0; i < left->len; i++)
        asy_task_cancel(vm, (AsyTask *)ASY_AS_OBJ(left->items[i]), ASY_UNDEF);
    AsyValue g = asy_gather(vm, (int)left->len, left->items, true);
    bool ok = !ASY_IS_ERR(g);
    if (ok) {
        asy_root_push(vm, g);
        ok = asy_loop_run_until_done(vm, (AsyFuture *)ASY_AS_OBJ(g));
        asy_root_pop(vm, 1);
    }
    for (int64_t i = 0; ok && i < left->len; i++) {
        AsyFuture *f = (AsyFuture *)ASY_AS_OBJ(left->items[i]);
        if (f->state != ASY_FUT_FINISHED || !f->has_exc) continue;
        f->log_tb = 0;
        asy_loop_log_error(vm, "unhandled exception during asyncio.run() shutdown", "task",
                           ASY_OBJ(f), (AsyException *)ASY_AS_OBJ(f->result));
    }
    asy_root_pop(vm, 1);
    return ok;
}

/* After the main future: cancel leftovers, then the two shutdown coroutines CPython runs
 * (each spends a task name and two passes): shutdown_asyncgens, which acloses the async
 * generators left unfinished (asyncgen.c), and shutdown_default_executor. */
static bool run_shutdown(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    bool ok = cancel_all_tasks(vm);
    for (int i = 0; ok && i < 2; i++) {
        L->task_counter++;
        ok = run_pass_nonblocking(vm) && (i > 0 || asy_agen_shutdown(vm)) &&
             run_pass_nonblocking(vm);
    }
    return ok;
}

/* What asyncio.run returns once the main task is done: its result, or (after Ctrl-C
 * cancelled it) KeyboardInterrupt raised while handling its CancelledError. */
static AsyValue main_result(AsyVM *vm, AsyTask *t) {
    AsyLoop *L = loop_of(vm);
    bool interrupted = t->fut.state == ASY_FUT_CANCELLED && L->interrupts > 0 &&
                       t->num_cancels > 0 && --t->num_cancels == 0;
    if (!interrupted) return asy_future_result(vm, &t->fut);
    AsyValue cancelled = asy_future_cancelled_error(vm, &t->fut);
    if (ASY_IS_ERR(cancelled)) return cancelled;
    asy_root_push(vm, cancelled);
    AsyValue ki = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyboardInterrupt], 0, NULL);
    asy_root_pop(vm, 1);
    if (ASY_IS_ERR(ki)) return ki;
    ((AsyException *)ASY_AS_OBJ(ki))->context = cancelled;
    return asy_raise_value(vm, ki);
}

/* The main coroutine of asyncio.run (or a script with top-level await) as Task-N. */
static AsyValue run_main(AsyVM *vm, AsyValue coro, bool debug) {
    AsyLoop *L = loop_of(vm);
    AsyLoopObj *lo = loopobj_new(vm);
    lo->debug = debug;
    loop_begin(vm, lo);
    L->create_site = "runners.py:100";
    AsyTask *t = asy_task_new(vm, coro, ASY_UNDEF);
    if (!t) {
        loop_end(vm);
        L->loop_obj = NULL;
        return ASY_ERR;
    }
    asy_root_push(vm, ASY_OBJ(t));
    L->main_task = t;
    AsyException *fatal = asy_loop_run_until_done(vm, &t->fut) ? NULL : vm->exc;
    asy_exc_clear(vm);
    t->fut.log_tb = 0; /* its outcome, even a SystemExit, goes to asyncio.run's caller */
    asy_root_push(vm, fatal ? ASY_OBJ(fatal) : ASY_UNDEF);
    if (!run_shutdown(vm)) fatal = vm->exc; /* a later fatal error wins */
    asy_exc_clear(vm);
    loop_end(vm);
    lo->closed = true;
    AsyValue r = fatal ? asy_raise_value(vm, ASY_OBJ(fatal)) : main_result(vm, t);
    AsyException *pending = vm->exc;
    asy_exc_clear(vm);
    asy_root_push(vm, pending ? ASY_OBJ(pending) : ASY_UNDEF);
    asy_task_report_unretrieved(vm); /* after the main task's own retrieval above */
    vm->exc = pending;
    asy_root_pop(vm, 3);
    L->loop_obj = NULL;
    return r;
}

/* RuntimeError: asyncio.run() inside a running loop. The error keeps the coroutine it was
 * given, as CPython's traceback keeps run()'s frame with it: a coroutine never awaited
 * then warns when the error goes, as "sys:1" when the program ends with it uncaught. */
static AsyValue refuse_nested_run(AsyVM *vm, AsyValue coro) {
    asy_raise(vm, ASY_EXC_RuntimeError, "asyncio.run() cannot be called from a running event loop");
    if (vm->exc) vm->exc->extra = coro;
    return ASY_ERR;
}

static AsyValue aio_run(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue debug = asy_kwarg(vm, kw, "debug");
    if (!asy_check_kw_done(vm, "run", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "run", argc, 1, 1)) return ASY_ERR;
    if (loop_of(vm)->running) return refuse_nested_run(vm, argv[0]);
    if (!asy_aio_is_coroutine(vm, argv[0])) {
        /* CPython's Runner made its loop first, and closing it spent two task names */
        loop_of(vm)->task_counter += 2;
        return asy_raise(vm, ASY_EXC_ValueError, "a coroutine was expected, got %R", argv[0]);
    }
    /* debug=None: CPython's default (debug_mode_default) */
    int dbg = ASY_IS_UNDEF(debug) || ASY_IS_NONE(debug) ? debug_mode_default(vm)
                                                         : asy_truthy(vm, debug);
    if (dbg < 0) return ASY_ERR;
    return run_main(vm, argv[0], dbg);
}

AsyValue asy_asyncio_run_main(AsyVM *vm, AsyValue coro) {
    /* The runtime is made by the module's initialiser; run it directly rather than through
     * sys.modules, which the program may have changed. */
    if (!loop_of(vm) || !ASY_AIO_TYPE(vm, Task)) {
        asy_root_push(vm, coro); /* initialising asyncio runs code: collections may happen */
        asy_mod_asyncio_init(vm);
        asy_root_pop(vm, 1);
        if (vm->exc) return ASY_ERR;
        if (!loop_of(vm) && !asy_loop_get(vm)) return ASY_ERR;
    }
    if (loop_of(vm)->running) return refuse_nested_run(vm, coro);
    if (!asy_aio_is_coroutine(vm, coro))
        return asy_raise(vm, ASY_EXC_ValueError, "a coroutine was expected, got %R", coro);
    return run_main(vm, coro, false);
}

/* loop.run_until_complete(aw) for the pre-asyncio.run style of script. */
static AsyValue run_until_complete(AsyVM *vm, AsyValue loopobj, AsyValue aw) {
    AsyLoop *L = loop_of(vm);
    AsyLoopObj *lo = (AsyLoopObj *)ASY_AS_OBJ(loopobj);
    if (lo->closed) return asy_raise(vm, ASY_EXC_RuntimeError, "Event loop is closed");
    if (L->running)
        return asy_raise(vm, ASY_EXC_RuntimeError, "This event loop is already running");
    loop_begin(vm, lo);
    AsyValue fut = asy_ensure_future(vm, aw);
    AsyValue r = fut;
    if (!ASY_IS_ERR(fut)) {
        asy_root_push(vm, fut);
        if (asy_loop_run_until_done(vm, (AsyFuture *)ASY_AS_OBJ(fut)))
            r = asy_future_result(vm, (AsyFuture *)ASY_AS_OBJ(fut));
        else
            r = ASY_ERR;
        asy_root_pop(vm, 1);
    }
    loop_end(vm);
    return r;
}

/* CPython's Runner._on_sigint up to its raise: the first Ctrl-C of a run cancels the main
 * task while it is pending (true: nothing more to do). */
static bool sigint_cancels_main(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    L->interrupts++;
    if (L->interrupts == 1 && L->main_task && L->main_task->fut.state == ASY_FUT_PENDING) {
        asy_task_cancel(vm, L->main_task, ASY_UNDEF);
        return true;
    }
    return false;
}

void asy_asyncio_on_sigint(AsyVM *vm) {
    if (sigint_cancels_main(vm)) return;
    AsyValue ki = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyboardInterrupt], 0, NULL);
    if (ASY_IS_ERR(ki)) {
        ki = ASY_OBJ(vm->exc);
        asy_exc_clear(vm);
    }
    loop_of(vm)->fatal = (AsyException *)ASY_AS_OBJ(ki);
}

int asy_asyncio_sigint_in_task(AsyVM *vm) {
    if (sigint_cancels_main(vm)) return 0;
    AsyValue ki = asy_exc_new(vm, vm->exc_types[ASY_EXC_KeyboardInterrupt], 0, NULL);
    if (!ASY_IS_ERR(ki)) vm->exc = (AsyException *)ASY_AS_OBJ(ki);
    return -1;
}

/* ==================================================================================== */
/* Module functions                                                                     */
/* ==================================================================================== */

static AsyValue aio_sleep(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    /* sleep(0), what a busy task yields with, and sleep(seconds) skip the argument checks */
    if (ASY_LIKELY(!kw && argc == 1 && ASY_IS_INT(argv[0]) && ASY_AS_INT(argv[0]) <= 0)) {
        AsyOp *s0 = loop_of(vm)->sleep0;
        return s0 ? ASY_OBJ(s0) : asy_sleep_op(vm, 0, ASY_UNDEF);
    }
    if (!kw && argc == 1 && ASY_IS_FLOAT(argv[0]))
        return asy_sleep_op(vm, ASY_AS_FLOAT(argv[0]), ASY_UNDEF);
    AsyValue result = asy_kwarg(vm, kw, "result");
    if (!asy_check_kw_done(vm, "sleep", kw)) return ASY_ERR;
    if (argc == 0)
        return asy_raise(vm, ASY_EXC_TypeError,
                         "sleep() missing 1 required positional argument: 'delay'");
    if (!asy_check_args(vm, "sleep", argc + !ASY_IS_UNDEF(result), 1, 2)) return ASY_ERR;
    if (argc == 2) result = argv[1];
    double d;
    if (ASY_IS_INTLIKE(argv[0])) {
        d = (double)ASY_AS_INT(argv[0]);
    } else if (ASY_IS_FLOAT(argv[0])) {
        d = ASY_AS_FLOAT(argv[0]);
    } else {
        AsyValue zero = ASY_INT(0);
        int le = asy_compare_bool(vm, argv[0], zero, ASY_CMP_LE); /* CPython: delay <= 0 */
        if (le < 0) return ASY_ERR;
        if (le)
            d = 0;
        else if (!asy_to_double(vm, argv[0], &d))
            return ASY_ERR;
    }
    return asy_sleep_op(vm, d, result);
}

static AsyValue aio_gather(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue re = asy_kwarg(vm, kw, "return_exceptions");
    if (!asy_check_kw_done(vm, "gather", kw)) return ASY_ERR;
    int b = ASY_IS_UNDEF(re) ? 0 : asy_truthy(vm, re);
    if (b < 0) return ASY_ERR;
    return asy_gather(vm, argc, argv, b);
}

static AsyValue aio_create_task(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    if (!asy_check_args(vm, "create_task", argc, 1, 1)) return ASY_ERR;
    return create_task_common(vm, argv[0], kw, true);
}

static AsyValue aio_ensure_future(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    asy_kwarg(vm, kw, "loop");
    if (!asy_check_kw_done(vm, "ensure_future", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "ensure_future", argc, 1, 1)) return ASY_ERR;
    return asy_ensure_future(vm, argv[0]);
}

static AsyValue aio_current_task(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    asy_kwarg(vm, kw, "loop");
    if (!asy_check_kw_done(vm, "current_task", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "current_task", argc, 0, 1)) return ASY_ERR;
    if (argc == 0 && !loop_of(vm)->running) return no_running_loop(vm);
    AsyTask *t = asy_task_current(vm);
    if (!t) return ASY_NONE;
    asy_task_held(t);
    return ASY_OBJ(t);
}

static AsyValue aio_all_tasks(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    asy_kwarg(vm, kw, "loop");
    if (!asy_check_kw_done(vm, "all_tasks", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "all_tasks", argc, 0, 1)) return ASY_ERR;
    if (argc == 0 && !loop_of(vm)->running) return no_running_loop(vm);
    AsySet *s = asy_set_new(vm, false);
    asy_task_list_prune(loop_of(vm));
    for (AsyTask *t = loop_of(vm)->tasks; t; t = t->anext) {
        asy_task_held(t);
        if (asy_set_add(vm, s, ASY_OBJ(t)) < 0) return ASY_ERR;
    }
    return ASY_OBJ(s);
}

static AsyValue aio_get_running_loop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_running_loop", argc, 0, 0)) return ASY_ERR;
    return running_loop(vm);
}

/* get_event_loop(): the running loop, else a loop object for run_until_complete. */
static AsyValue aio_get_event_loop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_event_loop", argc, 0, 0)) return ASY_ERR;
    AsyLoop *L = loop_of(vm);
    if (L->running && L->loop_obj) return ASY_OBJ(L->loop_obj);
    if (!L->default_loop || ((AsyLoopObj *)L->default_loop)->closed)
        L->default_loop = &loopobj_new(vm)->hdr;
    return ASY_OBJ(L->default_loop);
}

static AsyValue aio_new_event_loop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "new_event_loop", argc, 0, 0)) return ASY_ERR;
    return ASY_OBJ(loopobj_new(vm));
}

static AsyValue aio_set_event_loop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set_event_loop", argc, 1, 1)) return ASY_ERR;
    AsyLoop *L = loop_of(vm);
    if (ASY_IS_NONE(argv[0]))
        L->default_loop = NULL;
    else if (ASY_IS_OBJ(argv[0]) && ASY_AS_OBJ(argv[0])->type == ASY_AIO_TYPE(vm, Loop))
        L->default_loop = ASY_AS_OBJ(argv[0]);
    else
        return asy_raise(vm, ASY_EXC_TypeError,
                         "loop must be an instance of AbstractEventLoop "
                         "or None, not '%s'",
                         asy_type_name(vm, argv[0]));
    return ASY_NONE;
}

static AsyValue aio_iscoroutine(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "iscoroutine", argc, 1, 1)) return ASY_ERR;
    return ASY_BOOL(asy_aio_is_coroutine(vm, argv[0]));
}

static AsyValue aio_iscoroutinefunction(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "iscoroutinefunction", argc, 1, 1)) return ASY_ERR;
    AsyValue f = argv[0];
    if (asy_is_bound_method(vm, f)) f = ((AsyBoundMethod *)ASY_AS_OBJ(f))->func;
    return ASY_BOOL(asy_is_function(vm, f) &&
                    (((AsyFunction *)ASY_AS_OBJ(f))->code->cflags & ASY_CODE_COROUTINE));
}

static AsyValue aio_isfuture(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "isfuture", argc, 1, 1)) return ASY_ERR;
    return ASY_BOOL(asy_is_future(vm, argv[0]));
}

static const AsyMethodDef aio_functions[] = {
    {"run", aio_run, 0, "Execute the coroutine and return the result."},
    {"sleep", aio_sleep, 0, "Coroutine that completes after a given time (in seconds)."},
    {"gather", aio_gather, 0, "Return a future aggregating results from the given awaitables."},
    {"create_task", aio_create_task, 0, "Schedule the execution of a coroutine object."},
    {"ensure_future", aio_ensure_future, 0, "Wrap a coroutine or an awaitable in a future."},
    {"current_task", aio_current_task, 0, "Return a currently executed task."},
    {"all_tasks", aio_all_tasks, 0, "Return a set of all tasks for the loop."},
    {"get_running_loop", aio_get_running_loop, 0, "Return the running event loop."},
    {"get_event_loop", aio_get_event_loop, 0, "Return an asyncio event loop."},
    {"new_event_loop", aio_new_event_loop, 0, "Create a new event loop."},
    {"set_event_loop", aio_set_event_loop, 0, "Set the current event loop."},
    {"iscoroutine", aio_iscoroutine, 0, "Return True if obj is a coroutine object."},
    {"iscoroutinefunction", aio_iscoroutinefunction, 0,
     "Return True if func is a coroutine function."},
    {"isfuture", aio_isfuture, 0, "Return True if obj is a Future instance."},
    {NULL, NULL, 0, NULL},
};

/* ==================================================================================== */
/* The module                                                                           */
/* ==================================================================================== */

static void init_loop_types(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    AsyType *h = asy_type_new_builtin(vm, "Handle", ASY_TYPE(vm, object), sizeof(AsyHandleObj));
    h->module = asy_str_intern_cstr(vm, "asyncio.events");
    h->traverse = handle_traverse;
    h->repr = handle_repr;
    asy_type_add_methods(vm, h, handle_methods);
    asy_type_ready(vm, h);
    L->types[ASY_AIO_Handle] = h;
    L->types[ASY_AIO_TimerHandle] = h;

    AsyType *l = asy_type_new_builtin(vm, "_UnixSelectorEventLoop", ASY_TYPE(vm, object),
                                      sizeof(AsyLoopObj));
    l->module = asy_str_intern_cstr(vm, "asyncio.unix_events");
    l->repr = loopobj_repr;
    asy_type_add_methods(vm, l, loop_methods);
    asy_type_ready(vm, l);
    L->types[ASY_AIO_Loop] = l;
}

static void set_str(AsyVM *vm, AsyModule *m, const char *name, const char *value) {
    asy_dict_set_cstr(vm, m->dict, name, ASY_OBJ(asy_str_from_cstr(vm, value)));
}

void asy_mod_asyncio_init(AsyVM *vm) {
    if (!asy_loop_get(vm)) return;
    asy_task_init_types(vm);
    init_loop_types(vm);
    AsyModule *m = asy_module_new(vm, "asyncio");
    asy_module_register(vm, m);
    asy_module_add_functions(vm, m, aio_functions);
    AsyDict *d = m->dict;
    asy_dict_set_cstr(vm, d, "Future", ASY_OBJ(ASY_AIO_TYPE(vm, Future)));
    asy_dict_set_cstr(vm, d, "Task", ASY_OBJ(ASY_AIO_TYPE(vm, Task)));
    asy_dict_set_cstr(vm, d, "Handle", ASY_OBJ(ASY_AIO_TYPE(vm, Handle)));
    asy_dict_set_cstr(vm, d, "TimerHandle", ASY_OBJ(ASY_AIO_TYPE(vm, TimerHandle)));
    asy_dict_set_cstr(vm, d, "AbstractEventLoop", ASY_OBJ(ASY_AIO_TYPE(vm, Loop)));
    asy_dict_set_cstr(vm, d, "CancelledError", ASY_OBJ(vm->exc_types[ASY_EXC_CancelledError]));
    asy_dict_set_cstr(vm, d, "InvalidStateError",
                      ASY_OBJ(vm->exc_types[ASY_EXC_InvalidStateError]));
    asy_dict_set_cstr(vm, d, "TimeoutError", ASY_OBJ(vm->exc_types[ASY_EXC_TimeoutError]));
    set_str(vm, m, "FIRST_COMPLETED", "FIRST_COMPLETED");
    set_str(vm, m, "FIRST_EXCEPTION", "FIRST_EXCEPTION");
    set_str(vm, m, "ALL_COMPLETED", "ALL_COMPLETED");
    asy_asyncio_sync_init(vm, m);
    if (vm->exc) return;
    asy_asyncio_lib_init(vm, m);
}
