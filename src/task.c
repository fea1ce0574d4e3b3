/* task.c - Future, Task and _GatheringFuture, the native awaitable (AsyOp), implicit
 * futures, and asyncio's error reports ("Task exception was never retrieved",
 * "Exception in callback"). The model is in task.h; every ordering rule follows CPython
 * 3.11's _asyncio C module (Modules/_asynciomodule.c), which is what `python3` runs.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "function.h"
#include "generator.h"
#include "task.h"

#include "asyncgen.h"
#include "trace.h"

/* Where CPython's asyncio sources live, for reprs that name them. */
#define AIO_SRC "/usr/lib/python3.11/asyncio/"

static AsyLoop *loop_of(AsyVM *vm) { return vm->loop; }
static AsyFuture *fut_of(AsyValue v) { return (AsyFuture *)ASY_AS_OBJ(v); }
static AsyTask *task_of(AsyValue v) { return (AsyTask *)ASY_AS_OBJ(v); }

/* call_soon from inside the runtime: a failure (no memory for the ready queue) stops the
 * loop with MemoryError rather than losing a wake-up silently. */
static void soon_failed(AsyVM *vm);
static inline void soon(AsyVM *vm, AsyLoopFn fn, AsyValue a, AsyValue b) {
    if (!asy_loop_call_soon(vm, fn, a, b)) soon_failed(vm);
}

/* The ready queue's compact kinds (loop.h), registered in this order by
 * asy_task_init_types; the two most frequent are queued without a search. The chain
 * kinds come after the 7 plain ones. */
enum { KIND_STEP = 1, KIND_WAKE, CHAIN_STEP = 8, CHAIN_WAKE, CHAIN_DONE_CB };

static void soon_failed(AsyVM *vm) {
    loop_of(vm)->fatal = vm->exc;
    vm->exc = NULL;
}

/* Can t's next handle join a chain of the ready queue (loop.h)? Not while it runs (its
 * link word is its step_exc then), nor while it is in a chain already. */
static inline bool can_chain(AsyVM *vm, AsyTask *t) {
    return t != loop_of(vm)->current && !t->ready_link;
}

/* The last entry, t0's plain handle of kind k, becomes a chain of kind ck followed by t,
 * if t0 can be chained (and the entry has t0's wait generation, `by_gen`). */
static bool task_start_chain(AsyVM *vm, AsyReady *last, unsigned k, unsigned ck, AsyTask *t,
                             bool by_gen) {
    AsyTask *t0 = (AsyTask *)(last->a - k);
    if (t0 == t || !can_chain(vm, t0) || (by_gen && last->b != (int64_t)t0->wait_gen))
        return false;
    t0->ready_link = (uintptr_t)t | ASY_READY_CHAINED;
    t->ready_link = ASY_READY_CHAINED;
    last->a = (uintptr_t)t0 | ck;
    last->b = (int64_t)(uintptr_t)t;
    return true;
}

/* Queue t's handle of plain kind pk (payload: b's), or as a chain of kind ck (loop.h): t
 * joins the last entry when that is a chain of ck queued during this pass, or makes it
 * one when that is the plain handle of kind pk of another task that can be chained (with
 * the generation that task has now, for a wake-up: `by_gen`). So a run of one stays a
 * plain entry, as cheap as before. */
static ASY_ALWAYS_INLINE bool soon_task(AsyVM *vm, unsigned ck, unsigned pk, AsyTask *t,
                                        int64_t payload, bool by_gen) {
    AsyLoop *L = loop_of(vm);
    AsyReady *last;
    if (t != L->current && (last = asy_loop_open_tail(L)) && !t->ready_link) {
        unsigned k = last->a & (ASY_LOOP_KINDS - 1);
        if (k == ck) {
            ((AsyTask *)(uintptr_t)last->b)->ready_link |= (uintptr_t)t;
            t->ready_link = ASY_READY_CHAINED;
            last->b = (int64_t)(uintptr_t)t;
            return true;
        }
        if (k == pk && task_start_chain(vm, last, k, ck, t, by_gen)) return true;
    }
    return asy_loop_soon_kind(vm, pk, &t->fut.hdr, payload);
}

/* A task's step without an exception: soon(task_step_h, t, UNDEF). */
static ASY_ALWAYS_INLINE void soon_step(AsyVM *vm, AsyTask *t) {
    if (!soon_task(vm, CHAIN_STEP, KIND_STEP, t, 0, false)) soon_failed(vm);
}

/* The wake-up of its implicit future: soon(task_wakeup_implicit, t, INT(t->wait_gen)). A
 * chained one has no generation: it is marked stale instead if the task begins another
 * wait before it runs (task_step). */
static ASY_ALWAYS_INLINE void soon_wake(AsyVM *vm, AsyTask *t) {
    if (!soon_task(vm, CHAIN_WAKE, KIND_WAKE, t, t->wait_gen, true)) soon_failed(vm);
}

/* A finished task's one done callback, kept in its cb_inline: always a chain (its plain
 * handle would not say where the callback is). */
static void soon_done_cb(AsyVM *vm, AsyTask *t) {
    AsyReady *last = asy_loop_open_tail(loop_of(vm));
    if (last && (last->a & (ASY_LOOP_KINDS - 1)) == CHAIN_DONE_CB) {
        ((AsyTask *)(uintptr_t)last->b)->ready_link |= (uintptr_t)t;
        last->b = (int64_t)(uintptr_t)t;
    } else if (!asy_loop_soon_kind(vm, CHAIN_DONE_CB, &t->fut.hdr, (int64_t)(uintptr_t)t)) {
        soon_failed(vm);
        return;
    }
    t->ready_link = ASY_READY_CHAINED;
}

static bool is_cancelled_error(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) &&
           asy_is_subtype(ASY_AS_OBJ(v)->type, vm->exc_types[ASY_EXC_CancelledError]);
}

/* CancelledError(msg), or CancelledError() when msg is UNDEF or None. */
AsyValue asy_cancelled_error_new(AsyVM *vm, AsyValue msg) {
    AsyType *t = vm->exc_types[ASY_EXC_CancelledError];
    if (ASY_IS_UNDEF(msg) || ASY_IS_NONE(msg)) return asy_exc_new(vm, t, 0, NULL);
    return asy_exc_new(vm, t, 1, &msg);
}

/* ==================================================================================== */
/* Futures                                                                              */
/* ==================================================================================== */

static void future_init(AsyFuture *f, AsyFutKind kind) {
    f->kind = (uint8_t)kind;
    f->state = ASY_FUT_PENDING;
    f->result = ASY_UNDEF;
    f->cb_log2 = 0;
}

void asy_future_extra_set(AsyVM *vm, AsyFuture *f, int slot, AsyValue v) {
    if (!f->extra) {
        if (ASY_IS_UNDEF(v)) return; /* what an absent box says already */
        AsyTuple *x = asy_gc_alloc(vm, ASY_TYPE(vm, tuple),
                                   sizeof(AsyTuple) + ASY_FX_COUNT * sizeof(AsyValue));
        x->hash = -1;
        x->len = ASY_FX_COUNT;
        for (int i = 0; i < ASY_FX_COUNT; i++) x->items[i] = ASY_UNDEF;
        f->extra = x;
    }
    f->extra->items[slot] = v;
}

AsyFuture *asy_future_alloc(AsyVM *vm, AsyType *type, AsyFutKind kind) {
    AsyFuture *f = asy_gc_alloc(vm, type, type->basicsize);
    future_init(f, kind);
    return f;
}

AsyFuture *asy_future_new(AsyVM *vm) {
    return asy_future_alloc(vm, ASY_AIO_TYPE(vm, Future), ASY_FUTK_PLAIN);
}

bool asy_is_future(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && vm->loop &&
           asy_is_subtype(ASY_AS_OBJ(v)->type, ASY_AIO_TYPE(vm, Future));
}

void asy_future_traverse(AsyVM *vm, AsyObj *o) {
    AsyFuture *f = (AsyFuture *)o;
    asy_gc_mark_value(vm, f->result);
    asy_gc_mark_obj(vm, (AsyObj *)f->extra);
    AsyFutCb *cbs = asy_future_cbs(f);
    for (uint32_t i = 0; i < f->ncb; i++)
        asy_gc_mark_value(vm, cbs[i].arg);
}

static void future_finalize(AsyVM *vm, AsyObj *o) {
    AsyFuture *f = (AsyFuture *)o;
    if (f->cb_log2) {
        asy_mem_free(vm, f->cb_heap, sizeof(AsyFutCb) << f->cb_log2);
        f->cb_inline = (AsyFutCb){NULL, ASY_UNDEF};
    }
    f->cb_log2 = 0;
    f->ncb = 0;
}

/* Queue every callback (in registration order) and forget them. A finished task's only
 * callback (gather's, a TaskGroup's) stays in its cb_inline, which nothing else reads once
 * ncb is 0, and the task joins a chain (done_cb_take runs it). */
static void future_schedule_callbacks(AsyVM *vm, AsyFuture *f) {
    uint32_t n = f->ncb;
    f->ncb = 0;
    if (n == 1 && f->kind == ASY_FUTK_TASK && f->cb_log2 == 0 &&
        can_chain(vm, (AsyTask *)f)) {
        soon_done_cb(vm, (AsyTask *)f);
        return;
    }
    AsyFutCb *cbs = asy_future_cbs(f);
    for (uint32_t i = 0; i < n; i++)
        soon(vm, cbs[i].fn, cbs[i].arg, ASY_OBJ(f));
    future_finalize(vm, &f->hdr);
}

bool asy_future_add_cb(AsyVM *vm, AsyFuture *f, AsyLoopFn fn, AsyValue arg) {
    if (f->state != ASY_FUT_PENDING) {
        soon(vm, fn, arg, ASY_OBJ(f));
        return true;
    }
    if (f->ncb == (uint32_t)1 << f->cb_log2) {
        if (f->cb_log2 == 31) {
            asy_raise_memory(vm);
            return false;
        }
        size_t cap = (size_t)2 << f->cb_log2;
        AsyFutCb *cbs = asy_mem_alloc(vm, cap * sizeof *cbs);
        if (!cbs) return false;
        memcpy(cbs, asy_future_cbs(f), f->ncb * sizeof *cbs);
        if (f->cb_log2) asy_mem_free(vm, f->cb_heap, sizeof *cbs << f->cb_log2);
        f->cb_heap = cbs; /* the inline one was copied first: they share storage */
        f->cb_log2++;
    }
    asy_future_cbs(f)[f->ncb] = (AsyFutCb){fn, arg};
    f->ncb++;
    f->dropped = 0; /* its callback's handle will hold it, and may hand it to asy code */
    return true;
}

int64_t asy_future_remove_cb(AsyVM *vm, AsyFuture *f, AsyLoopFn fn, AsyValue arg) {
    uint32_t keep = 0;
    int64_t removed = 0;
    for (uint32_t i = 0; i < f->ncb; i++) {
        AsyFutCb cb = asy_future_cbs(f)[i];
        int same = cb.fn == fn && asy_value_is(cb.arg, arg);
        if (!same && cb.fn == fn && fn == asy_future_cb_call) {
            same = asy_eq(vm, cb.arg, arg);
            if (same < 0) return -1;
            if (i >= f->ncb) break; /* __eq__ changed the list under us */
        }
        if (same)
            removed++;
        else
            asy_future_cbs(f)[keep++] = cb;
    }
    f->ncb = keep;
    return removed;
}

static void future_register_unretrieved(AsyVM *vm, AsyFuture *f) {
    AsyLoop *L = loop_of(vm);
    if (!L->unretrieved && !(L->unretrieved = asy_list_new(vm, 8))) {
        asy_exc_clear(vm);
        return;
    }
    AsyList *l = L->unretrieved;
    if (l->len >= 64 && l->len >= 2 * L->unretrieved_pruned) { /* drop retrieved ones */
        int64_t keep = 0;
        for (int64_t i = 0; i < l->len; i++)
            if (fut_of(l->items[i])->log_tb) l->items[keep++] = l->items[i];
        l->len = keep;
        L->unretrieved_pruned = keep;
    }
    if (asy_list_append(vm, l, ASY_OBJ(f)) < 0) asy_exc_clear(vm);
}

bool asy_future_set_result(AsyVM *vm, AsyFuture *f, AsyValue v) {
    if (f->state != ASY_FUT_PENDING) {
        asy_raise(vm, ASY_EXC_InvalidStateError, "invalid state");
        return false;
    }
    f->result = v;
    f->state = ASY_FUT_FINISHED;
    future_schedule_callbacks(vm, f);
    return true;
}

/* The traceback an exception had when it was stored: re-raising restores it, so awaiting
 * a failed task twice does not stack the awaiters' frames (CPython's with_traceback). */
void asy_future_store_exception(AsyVM *vm, AsyFuture *f, AsyValue exc) {
    f->result = exc;
    f->has_exc = 1;
    f->log_tb = 1;
    f->state = ASY_FUT_FINISHED;
    future_register_unretrieved(vm, f);
    future_schedule_callbacks(vm, f);
}

bool asy_future_set_exception(AsyVM *vm, AsyFuture *f, AsyValue exc) {
    if (f->state != ASY_FUT_PENDING) {
        asy_raise(vm, ASY_EXC_InvalidStateError, "invalid state");
        return false;
    }
    AsyType *base = vm->exc_types[ASY_EXC_BaseException];
    if (ASY_IS_OBJ(exc) && asy_is_subtype(ASY_AS_OBJ(exc)->type, ASY_TYPE(vm, type)) &&
        asy_is_subtype((AsyType *)ASY_AS_OBJ(exc), base)) {
        exc = asy_call(vm, exc, 0, NULL, NULL);
        if (ASY_IS_ERR(exc)) return false;
    }
    if (!asy_isinstance(vm, exc, base)) {
        asy_raise(vm, ASY_EXC_TypeError, "invalid exception object");
        return false;
    }
    if (ASY_AS_OBJ(exc)->type == vm->exc_types[ASY_EXC_StopIteration]) {
        asy_raise(vm, ASY_EXC_TypeError,
                  "StopIteration interacts badly with generators and "
                  "cannot be raised into a Future");
        return false;
    }
    asy_future_store_exception(vm, f, exc);
    return true;
}

/* Future.cancel itself, without the Task and gather overrides. */
static bool future_cancel_plain(AsyVM *vm, AsyFuture *f, AsyValue msg) {
    f->log_tb = 0;
    if (f->state != ASY_FUT_PENDING) return false;
    f->state = ASY_FUT_CANCELLED;
    asy_future_extra_set(vm, f, ASY_FX_CANCEL_MSG, msg);
    future_schedule_callbacks(vm, f);
    return true;
}

bool asy_future_cancel(AsyVM *vm, AsyFuture *f, AsyValue msg) {
    switch (f->kind) {
    case ASY_FUTK_TASK: return asy_task_cancel(vm, (AsyTask *)f, msg);
    case ASY_FUTK_GATHER: return asy_gather_cancel(vm, f, msg);
    default: return future_cancel_plain(vm, f, msg);
    }
}

AsyValue asy_future_cancelled_error(AsyVM *vm, AsyFuture *f) {
    if (ASY_IS_OBJ(f->result) && f->state == ASY_FUT_CANCELLED) {
        AsyValue e = f->result; /* the CancelledError that ended a task: handed on once */
        f->result = ASY_UNDEF;
        return e;
    }
    return asy_cancelled_error_new(vm, asy_future_cancel_msg(f));
}

static AsyValue raise_stored(AsyVM *vm, AsyValue exc) { return asy_raise_value(vm, exc); }

AsyValue asy_future_result(AsyVM *vm, AsyFuture *f) {
    if (f->state == ASY_FUT_CANCELLED) {
        AsyValue e = asy_future_cancelled_error(vm, f);
        return ASY_IS_ERR(e) ? e : raise_stored(vm, e);
    }
    if (f->state != ASY_FUT_FINISHED)
        return asy_raise(vm, ASY_EXC_InvalidStateError, "Result is not set.");
    f->log_tb = 0;
    if (f->has_exc) return raise_stored(vm, f->result);
    return f->result;
}

AsyValue asy_future_exception(AsyVM *vm, AsyFuture *f) {
    if (f->state == ASY_FUT_CANCELLED) {
        AsyValue e = asy_future_cancelled_error(vm, f);
        return ASY_IS_ERR(e) ? e : raise_stored(vm, e);
    }
    if (f->state != ASY_FUT_FINISHED)
        return asy_raise(vm, ASY_EXC_InvalidStateError, "Exception is not set.");
    f->log_tb = 0;
    return f->has_exc ? f->result : ASY_NONE;
}

/* ---- reprs ---- */

static const char *const fut_state_names[] = {"pending", "cancelled", "finished"};

static void task_wakeup_fut(AsyVM *vm, AsyValue a, AsyValue b);

/* run_until_complete's done callback: the loop stops after the pass that runs it. */
static void run_until_complete_cb(AsyVM *vm, AsyValue a, AsyValue b) {
    ASY_UNUSED(a);
    ASY_UNUSED(b);
    loop_of(vm)->stopping = true;
}

bool asy_loop_run_until_done(AsyVM *vm, AsyFuture *f) {
    AsyLoop *L = loop_of(vm);
    if (!asy_future_add_cb(vm, f, run_until_complete_cb, ASY_UNDEF)) return false;
    L->stopping = false;
    bool ok = true;
    while (ok && !L->stopping)
        ok = asy_loop_run_once(vm);
    L->stopping = false;
    if (ok && f->state == ASY_FUT_PENDING) { /* loop.stop() was called first */
        asy_raise(vm, ASY_EXC_RuntimeError, "Event loop stopped before Future completed.");
        ok = false;
    }
    if (!ok) asy_future_remove_cb(vm, f, run_until_complete_cb, ASY_UNDEF);
    return ok;
}

/* A callable as asyncio's format_helpers shows it: qualname(args) at file:line. */
static void append_callable(AsyVM *vm, AsyStrBuf *b, AsyValue fn) {
    AsyValue f = fn;
    if (asy_is_bound_method(vm, f)) f = ((AsyBoundMethod *)ASY_AS_OBJ(f))->func;
    if (asy_is_function(vm, f)) {
        asy_strbuf_append_str(vm, b, ((AsyFunction *)ASY_AS_OBJ(f))->qualname);
        return;
    }
    if (asy_is_native(vm, f)) {
        AsyNative *n = (AsyNative *)ASY_AS_OBJ(f);
        AsyStr *q = asy_native_qualname(vm, n);
        if (q) {
            asy_strbuf_append_str(vm, b, q);
        } else {
            asy_exc_clear(vm);
            asy_strbuf_append_cstr(vm, b, n->def->name);
        }
        return;
    }
    AsyValue q = asy_getattr_opt(vm, fn, ASY_S(vm, __qualname__));
    if (ASY_IS_ERR(q)) asy_exc_clear(vm);
    if (!ASY_IS_OBJ(q) || !asy_isinstance(vm, q, ASY_TYPE(vm, str))) q = asy_repr(vm, fn);
    if (ASY_IS_ERR(q)) {
        asy_exc_clear(vm);
        return;
    }
    asy_strbuf_append_str(vm, b, (AsyStr *)ASY_AS_OBJ(q));
}

static void append_callable_source(AsyVM *vm, AsyStrBuf *b, AsyValue fn) {
    if (!asy_is_function(vm, fn)) return;
    AsyCode *code = ((AsyFunction *)ASY_AS_OBJ(fn))->code;
    asy_strbuf_printf(vm, b, " at %s:%d", code->filename ? code->filename->data : "?",
                      (int)code->firstline);
}

/* Handle/callback text: callable, then "(args)", then the source. */
static void append_callback(AsyVM *vm, AsyStrBuf *b, const AsyFutCb *cb) {
    if (cb->fn == task_wakeup_fut) {
        asy_strbuf_append_cstr(vm, b, "Task.task_wakeup()");
    } else if (cb->fn == run_until_complete_cb) {
        asy_strbuf_append_cstr(vm, b, "_run_until_complete_cb() at " AIO_SRC "base_events.py:180");
    } else if (cb->fn == asy_gather_child_done) {
        asy_strbuf_append_cstr(vm, b,
                               "gather.<locals>._done_callback() at " AIO_SRC "tasks.py:764");
    } else if (cb->fn == asy_future_cb_call) {
        append_callable(vm, b, cb->arg);
        asy_strbuf_append_cstr(vm, b, "()");
        append_callable_source(vm, b, cb->arg);
    } else {
        asy_strbuf_append_cstr(vm, b, "<callback>()");
    }
}

static void append_callbacks(AsyVM *vm, AsyStrBuf *b, AsyFuture *f) {
    if (f->ncb == 0) return;
    asy_strbuf_append_cstr(vm, b, " cb=[");
    /* copies: a callback's repr may add one and move the buffer */
    AsyFutCb cb = asy_future_cbs(f)[0];
    append_callback(vm, b, &cb);
    if (f->ncb == 2) {
        asy_strbuf_append_cstr(vm, b, ", ");
        cb = asy_future_cbs(f)[1];
        append_callback(vm, b, &cb);
    } else if (f->ncb > 2) {
        asy_strbuf_printf(vm, b, ", <%u more>, ", f->ncb - 2);
        cb = asy_future_cbs(f)[f->ncb - 1];
        append_callback(vm, b, &cb);
    }
    asy_strbuf_append_cstr(vm, b, "]");
}

static void append_repr(AsyVM *vm, AsyStrBuf *b, AsyValue v, bool short_form) {
    AsyValue r = short_form ? asy_reprlib(vm, v) : asy_repr(vm, v);
    if (ASY_IS_ERR(r)) {
        asy_exc_clear(vm);
        asy_strbuf_append_cstr(vm, b, "<unprintable>");
        return;
    }
    asy_strbuf_append_str(vm, b, (AsyStr *)ASY_AS_OBJ(r));
}

/* The result/exception part of a future's repr. */
static void append_outcome(AsyVM *vm, AsyStrBuf *b, AsyFuture *f) {
    if (f->state != ASY_FUT_FINISHED) return;
    if (f->has_exc) {
        asy_strbuf_append_cstr(vm, b, " exception=");
        append_repr(vm, b, f->result, false);
    } else {
        asy_strbuf_append_cstr(vm, b, " result=");
        append_repr(vm, b, f->result, true);
    }
}

static const char *type_name_of(AsyObj *o) {
    AsyType *t = o->type;
    return t->name_str ? t->name_str->data : t->name;
}

static AsyValue future_repr(AsyVM *vm, AsyValue self) {
    AsyFuture *f = fut_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_root_push(vm, self);
    asy_strbuf_printf(vm, &b, "<%s %s", type_name_of(&f->hdr), fut_state_names[f->state]);
    append_outcome(vm, &b, f);
    append_callbacks(vm, &b, f);
    asy_strbuf_append_cstr(vm, &b, ">");
    asy_root_pop(vm, 1);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

/* ==================================================================================== */
/* Implicit futures and waiter lists                                                    */
/* ==================================================================================== */

static void waitlist_push(AsyWaitList *l, AsyTask *t) {
    t->wnext = NULL;
    t->wprev = l->tail;
    if (l->tail)
        l->tail->wnext = t;
    else
        l->head = t;
    l->tail = t;
    l->len++;
}

void asy_waitlist_remove(AsyWaitList *l, AsyTask *t) {
    if (!asy_waitlist_has(l, t)) return;
    if (t->wprev)
        t->wprev->wnext = t->wnext;
    else
        l->head = t->wnext;
    if (t->wnext)
        t->wnext->wprev = t->wprev;
    else
        l->tail = t->wprev;
    t->wnext = t->wprev = NULL;
    l->len--;
}

/* A slice of a waiter list, from task pos on (end: 0, its end). */
static uintptr_t waitlist_mark_slice(AsyVM *vm, const void *list, uintptr_t pos, uintptr_t end) {
    ASY_UNUSED(list);
    AsyTask *t = (AsyTask *)pos;
    for (int n = 0; t && n < ASY_GC_SLICE; n++, t = t->wnext)
        asy_gc_mark_obj(vm, &t->fut.hdr);
    return t ? (uintptr_t)t : end;
}

void asy_waitlist_mark(AsyVM *vm, AsyWaitList *l) {
    if (l->head) asy_gc_mark_sliced(vm, waitlist_mark_slice, l, (uintptr_t)l->head, 0);
}

static void task_step(AsyVM *vm, AsyTask *t, AsyValue exc);

/* A task stepped through another handle while it waits in a chain (rare): its link word is
 * its step_exc while it runs, so the link waits in the loop (steps do not nest) until the
 * step is over; the chain's handle goes stale if a new wait began meanwhile, as a
 * wake-up's generation would. */
static void task_hold_link(AsyLoop *L, AsyTask *t) {
    L->held_link = t->ready_link;
    L->held_gen = t->wait_gen;
    t->ready_link = 0;
    L->open_tail = NULL; /* it may be the open chain's last: nothing may link to it */
}

static void task_put_back_link(AsyLoop *L, AsyTask *t) {
    t->ready_link = L->held_link | (t->wait_gen != L->held_gen ? ASY_READY_STALE : 0);
    L->held_link = 0;
}

/* The wake-up of an implicit future: b is the wait generation it was queued for. */
static void task_wakeup_implicit(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyTask *t = task_of(a);
    if ((int64_t)t->wait_gen != ASY_AS_INT(b)) return; /* stale */
    AsyValue exc = ASY_UNDEF;
    if (t->wait_state == ASY_WAIT_CANCELLED) {
        exc = asy_cancelled_error_new(vm, asy_task_wait_value(t));
        if (ASY_IS_ERR(exc)) {
            exc = ASY_OBJ(vm->exc);
            asy_exc_clear(vm);
        }
    }
    task_step(vm, t, exc);
}

void asy_task_wait_begin(AsyVM *vm, AsyTask *t, AsyWaitKind kind, AsyWaitList *list) {
    ASY_UNUSED(vm);
    t->wait_kind = (uint8_t)kind;
    t->wait_state = ASY_WAIT_PENDING;
    t->fut.result = ASY_UNDEF; /* asy_task_wait_value */
    t->wait_gen++;
    if (list) waitlist_push(list, t);
}

bool asy_task_wait_resolve(AsyVM *vm, AsyTask *t, AsyValue result) {
    if (t->wait_state != ASY_WAIT_PENDING) return false;
    t->wait_state = ASY_WAIT_DONE;
    t->fut.result = result; /* asy_task_wait_value */
    soon_wake(vm, t);
    return true;
}

/* fut_waiter.cancel() for whatever the task waits on. */
static bool task_cancel_wait(AsyVM *vm, AsyTask *t, AsyValue msg) {
    if (asy_task_fut_waiter(t)) return asy_future_cancel(vm, asy_task_fut_waiter(t), msg);
    if (t->wait_kind == ASY_WAIT_NONE || t->wait_state != ASY_WAIT_PENDING) return false;
    t->wait_state = ASY_WAIT_CANCELLED;
    t->fut.result = msg; /* asy_task_wait_value */
    soon_wake(vm, t);
    if (t->wait_kind == ASY_WAIT_SLEEP) asy_loop_timer_cancelled(vm); /* its timer is dead */
    return true;
}

bool asy_task_take_exc(AsyVM *vm, AsyTask *t) {
    if (!t->step_exc) return false;
    AsyValue e = ASY_OBJ(t->step_exc);
    t->step_exc = NULL;
    raise_stored(vm, e);
    return true;
}

/* ==================================================================================== */
/* Tasks                                                                                */
/* ==================================================================================== */

AsyTask *asy_task_current(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    return L ? L->current : NULL;
}

static uintptr_t task_list_mark_slice(AsyVM *vm, const void *obj, uintptr_t pos, uintptr_t end) {
    ASY_UNUSED(obj);
    AsyTask *t = (AsyTask *)pos;
    for (int n = 0; t && n < ASY_GC_SLICE; n++, t = t->anext)
        asy_gc_mark_obj(vm, &t->fut.hdr);
    return t ? (uintptr_t)t : end;
}

void asy_task_mark_list(AsyVM *vm, AsyTask *head) {
    if (head) asy_gc_mark_sliced(vm, task_list_mark_slice, NULL, (uintptr_t)head, 0);
}

void asy_task_list_prune(AsyLoop *L) {
    for (AsyTask **p = &L->tasks; *p;) {
        AsyTask *t = *p;
        if (t->fiber_state == ASY_TASKF_DONE) {
            *p = t->anext;
            t->anext = NULL;
        } else {
            p = &t->anext;
        }
    }
}

static void task_traverse(AsyVM *vm, AsyObj *o) {
    AsyTask *t = (AsyTask *)o;
    asy_future_traverse(vm, o);
    asy_gc_mark_obj(vm, t->coro);
    if (t->fiber) {
        asy_fiber_mark(vm, t->fiber);
    } else if (t->fiber_state == ASY_TASKF_PARKED) {
        /* the coroutine marks its frame; the slots its frame uses are ours to mark */
        AsyGenerator *g = (AsyGenerator *)t->coro;
        asy_gc_mark_values(vm, asy_gen_slots(g), g->depth);
    }
    asy_gc_mark_obj(vm, t->waiting);
    if (!(t->ready_link & ASY_READY_CHAINED)) asy_gc_mark_obj(vm, t->step_exc);
}

static void task_finalize(AsyVM *vm, AsyObj *o) {
    AsyTask *t = (AsyTask *)o;
    if (t->fiber) asy_fiber_give(vm, t->fiber); /* a task that never finished */
    future_finalize(vm, o);
}

static void task_step_h(AsyVM *vm, AsyValue a, AsyValue b) { task_step(vm, task_of(a), b); }


static bool is_op(AsyVM *vm, AsyValue v) {
    return ASY_IS_OBJ(v) && vm->loop && ASY_AS_OBJ(v)->type == ASY_AIO_TYPE(vm, Op);
}

/* What asyncio takes for a coroutine: asy's native awaitables too, and an async
 * generator's asend/athrow awaitables (collections.abc.Coroutine in CPython). */
bool asy_aio_is_coroutine(AsyVM *vm, AsyValue v) {
    return asy_is_coroutine(vm, v) || is_op(vm, v) || asy_is_agen_op(vm, v);
}

/* Debug mode: where a task is being made, as CPython's source traceback ends: a line of
 * CPython's asyncio when a helper makes it (the caller says which), else the running
 * asy line. */
static AsyStr *creation_site(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    const char *site = L->create_site;
    L->create_site = NULL;
    if (site && L->debug) return asy_str_printf(vm, AIO_SRC "%s", site);
    AsyFiber *f = vm->fiber;
    if (!f || f->nframes == 0) return NULL;
    AsyFrame *fr = &f->frames[f->nframes - 1];
    int32_t pc = fr->pc > 0 ? fr->pc - 1 : 0;
    if (pc >= fr->code->ncode) return NULL;
    return asy_str_printf(vm, "%s:%d", fr->code->filename ? fr->code->filename->data : "?",
                          (int)fr->code->locs[pc].line);
}

/* Where the task being made was asked for: the running frame, its pc past the call. */
static void task_note_maker(AsyVM *vm, AsyTask *t) {
    AsyFiber *f = vm->fiber;
    vm->made_task = NULL;
    if (!f || f->nframes == 0) return;
    const AsyFrame *fr = &f->frames[f->nframes - 1];
    vm->made_task = t;
    vm->made_fiber = f;
    vm->made_code = fr->code;
    vm->made_pc = fr->pc;
}

/* The statement `asyncio.create_task(work())` (or ensure_future, loop.create_task, Task())
 * drops the task at the POP_TOP right after the call that made it: then no asy code holds
 * it, and none can get it again but through current_task, all_tasks or a done callback
 * (asy_task_held). The task that the call made and that POP_TOP drops is told apart from
 * one a helper made (and may keep) by the place: the same frame, one instruction on. */
void asy_task_dropped(AsyVM *vm, AsyValue v) {
    if (ASY_AS_OBJ(v) != vm->made_task) return;
    vm->made_task = NULL;
    AsyFiber *f = vm->fiber;
    if (!f || f->nframes == 0 || f != vm->made_fiber) return;
    const AsyFrame *fr = &f->frames[f->nframes - 1];
    if (fr->code != vm->made_code || fr->pc != vm->made_pc + 1) return;
    AsyTask *t = task_of(v);
    if (t->fut.state == ASY_FUT_PENDING && t->fut.ncb == 0) t->fut.dropped = 1;
}

AsyTask *asy_task_new(AsyVM *vm, AsyValue coro, AsyValue name) {
    /* The Task-N counter moves even when a name is given: asyncio.create_task names the
     * task after making it. Callers that must not spend a number pass it back. */
    AsyLoop *L = loop_of(vm);
    AsyTask *t = (AsyTask *)asy_future_alloc(vm, ASY_AIO_TYPE(vm, Task), ASY_FUTK_TASK);
    t->coro = ASY_AS_OBJ(coro);
    if (ASY_IS_OBJ(name)) asy_future_extra_set(vm, &t->fut, ASY_FX_NAME, name);
    if (asy_is_coroutine(vm, coro)) {
        if (!asy_fiber_start_task(vm, coro)) return NULL;
        t->coro_task = 1;
    } else if (asy_is_agen_op(vm, coro)) {
        /* an async generator's asend/athrow awaitable (loop.create_task(agen.aclose()),
         * as the asyncgen finalizer does): a hidden coroutine awaits it */
        asy_root_push(vm, ASY_OBJ(t));
        AsyValue runner = asy_agen_op_runner(vm, coro);
        bool ok = !ASY_IS_ERR(runner) && asy_fiber_start_task(vm, runner);
        asy_root_pop(vm, 1);
        if (!ok) return NULL;
        t->coro = ASY_AS_OBJ(runner); /* its frame holds the awaitable */
        t->coro_task = 1;
        t->agen_op = ASY_AS_OBJ(coro)->type == ASY_TYPE(vm, async_generator_asend) ? 1 : 2;
    } else {
        ((AsyOp *)ASY_AS_OBJ(coro))->awaited = 1; /* the task owns it now */
    }
    if (ASY_LIKELY(++L->task_counter <= UINT32_MAX)) {
        t->num = (uint32_t)L->task_counter;
    } else if (!ASY_IS_OBJ(name)) { /* beyond 32 bits: the name now, num stays 0 */
        AsyStr *s = asy_str_printf(vm, "Task-%lld", (long long)L->task_counter);
        if (!s) return NULL;
        asy_future_extra_set(vm, &t->fut, ASY_FX_NAME, ASY_OBJ(s));
    }
    task_note_maker(vm, t);
    if (ASY_UNLIKELY(L->debug || vm->dump_tasks || vm->trace)) {
        /* --dump-tasks alone names the asy line, and keeps the repr CPython's */
        t->created_debug = L->debug;
        AsyStr *site = creation_site(vm);
        if (site) asy_future_extra_set(vm, &t->fut, ASY_FX_CREATED_AT, ASY_OBJ(site));
    }
    if (ASY_UNLIKELY(vm->trace)) asy_trace_task_created(vm, t);
    t->anext = L->tasks;
    L->tasks = t;
    L->ntasks++;
    soon_step(vm, t);
    return t;
}

bool asy_task_cancel(AsyVM *vm, AsyTask *t, AsyValue msg) {
    t->fut.log_tb = 0;
    if (t->fut.state != ASY_FUT_PENDING) return false;
    t->num_cancels++;
    if (task_cancel_wait(vm, t, msg)) return true;
    t->must_cancel = 1;
    asy_future_extra_set(vm, &t->fut, ASY_FX_CANCEL_MSG, msg);
    return true;
}

/* The task's coroutine has finished one way or another. */
static void task_release(AsyVM *vm, AsyTask *t) {
    loop_of(vm)->ntasks--; /* it leaves L->tasks at the next prune (fiber_state DONE) */
    if (t->fiber) asy_fiber_give(vm, t->fiber);
    t->fiber = NULL;
    t->fiber_state = ASY_TASKF_DONE;
    asy_task_set_native_wait(t, NULL);
    asy_task_set_fut_waiter(t, NULL);
    t->step_exc = NULL;
    t->fut.result = ASY_UNDEF; /* no wait's value: the outcome goes there now */
}

static void task_finished_ok(AsyVM *vm, AsyTask *t, AsyValue v) {
    task_release(vm, t);
    if (t->must_cancel) {
        t->must_cancel = 0;
        future_cancel_plain(vm, &t->fut, asy_future_cancel_msg(&t->fut));
    } else {
        t->fut.result = v;
        t->fut.state = ASY_FUT_FINISHED;
        future_schedule_callbacks(vm, &t->fut);
    }
}

static void task_finished_exc(AsyVM *vm, AsyTask *t) {
    AsyValue exc = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    task_release(vm, t);
    if (is_cancelled_error(vm, exc)) {
        future_cancel_plain(vm, &t->fut, ASY_UNDEF);
        t->fut.result = exc; /* _cancelled_exc: what awaiters will see */
        return;
    }
    asy_future_store_exception(vm, &t->fut, exc);
    if (asy_exc_is(vm, exc, vm->exc_types[ASY_EXC_KeyboardInterrupt]) ||
        asy_exc_is(vm, exc, vm->exc_types[ASY_EXC_SystemExit])) {
        loop_of(vm)->fatal = (AsyException *)ASY_AS_OBJ(exc);
    }
}

/* The fiber suspended. An await on one of our awaitables registered its wait already;
 * anything else is a value yielded by a generator-based awaitable (CPython's protocol:
 * a bare yield relinquishes one pass, a future is waited on). */
static void task_suspended(AsyVM *vm, AsyTask *t, AsyValue out) {
    if (asy_task_native_wait(t)) {
        if (t->must_cancel && task_cancel_wait(vm, t, asy_future_cancel_msg(&t->fut))) t->must_cancel = 0;
        return;
    }
    if (ASY_IS_UNDEF(out) || ASY_IS_NONE(out)) {
        soon_step(vm, t);
        return;
    }
    AsyValue err;
    if (asy_is_future(vm, out) && ASY_AS_OBJ(out) != &t->fut.hdr) {
        AsyFuture *f = fut_of(out);
        if (!asy_future_add_cb(vm, f, task_wakeup_fut, ASY_OBJ(t))) {
            err = ASY_OBJ(vm->exc);
            asy_exc_clear(vm);
            soon(vm, task_step_h, ASY_OBJ(t), err);
            return;
        }
        asy_task_set_fut_waiter(t, f);
        if (t->must_cancel && asy_future_cancel(vm, f, asy_future_cancel_msg(&t->fut))) t->must_cancel = 0;
        return;
    }
    asy_root_push(vm, out); /* only held here now: a repr may run code that collects */
    if (asy_is_future(vm, out))
        asy_raise(vm, ASY_EXC_RuntimeError, "Task cannot await on itself: %R", ASY_OBJ(t));
    else
        asy_raise(vm, ASY_EXC_RuntimeError, "Task got bad yield: %R", out);
    asy_root_pop(vm, 1);
    err = ASY_OBJ(vm->exc);
    asy_exc_clear(vm);
    soon(vm, task_step_h, ASY_OBJ(t), err);
}

static int op_drive(AsyVM *vm, AsyOp *op, AsyTask *t, AsyValue *out);

static int op_sleep_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result);

/* Is the task coming back from a sleep, which needs no clean-up? Then *result is what its
 * await gives (op_sleep_fn's answer when resumed without an exception), and task_run
 * completes the await instead of running it again. */
static bool sleep_over(AsyVM *vm, AsyTask *t, AsyValue *result) {
    if (asy_task_native_wait(t) == (AsyObj *)loop_of(vm)->sleep0) { /* the common case: sleep(0) */
        *result = ASY_NONE;
        return true;
    }
    if (asy_task_native_wait(t)->type != ASY_AIO_TYPE(vm, Op)) return false;
    AsyOp *op = (AsyOp *)asy_task_native_wait(t);
    if (op->fn != op_sleep_fn) return false;
    *result = ASY_IS_UNDEF(op->arg) ? ASY_NONE : op->arg;
    return true;
}

/* ---- a task's fiber, parked between steps (task.h) ---- */

/* Fill *f in as the fiber of a parked task: the coroutine's frame and slots, in place. */
static void parked_fiber(const AsyTask *t, AsyFiber *f) {
    AsyGenerator *g = (AsyGenerator *)t->coro;
    *f = (AsyFiber){
        .stack = asy_gen_slots(g),
        .sp = g->depth,
        .stackcap = (int32_t)asy_gen_frame_size(g->frame.code), /* asy_gen_new's */
        .frames = &g->frame,
        .nframes = 1,
        .framecap = 1,
        .state = ASY_FIBER_SUSPENDED,
        .frames_borrowed = true,
        .stack_borrowed = true,
    };
}

const AsyFiber *asy_task_fiber_view(const AsyTask *t, AsyFiber *view) {
    if (!t->coro_task) return NULL;
    switch (t->fiber_state) {
    case ASY_TASKF_PARKED: parked_fiber(t, view); return view;
    case ASY_TASKF_OWN: return t->fiber->state != ASY_FIBER_DONE ? t->fiber : NULL;
    default: return NULL;
    }
}

/* Resume the task's fiber f (asy_fiber_resume's arguments). If it suspends in its only
 * frame with nothing of its own (task.h), park it: the fiber goes back to the free list
 * (it owns no buffer to free) and its sp into the coroutine. */
static inline AsyRunStatus task_resume(AsyVM *vm, AsyTask *t, AsyFiber *f, AsyValue send,
                                       AsyValue throw_exc, bool complete_await, AsyValue *out) {
    AsyRunStatus st = asy_fiber_resume(vm, f, send, throw_exc, complete_await, out);
    /* frames_borrowed: its only frame is the coroutine's (framecap 1, and the frame
     * array is let go when that frame leaves) */
    if (st == ASY_RUN_SUSPENDED && f->frames_borrowed && f->stack_borrowed && !f->handled) {
        ((AsyGenerator *)t->coro)->depth = f->sp; /* unused while it runs (generator.h) */
        asy_fiber_recycle(vm, f);
        t->fiber = NULL;
        t->fiber_state = ASY_TASKF_PARKED;
    }
    return st;
}

/* Resume the task's coroutine with exc (UNDEF: a plain wake-up). */
static AsyRunStatus task_run(AsyVM *vm, AsyTask *t, AsyValue exc, AsyValue *out) {
    bool native = asy_task_native_wait(t) != NULL;
    if (!t->coro_task) { /* an AsyOp run as a task */
        AsyOp *op = (AsyOp *)t->coro;
        if (!native && !ASY_IS_UNDEF(exc)) {
            raise_stored(vm, exc);
            return ASY_RUN_ERROR;
        }
        t->step_exc = asy_obj_or_null(exc);
        int r = op_drive(vm, op, t, out);
        return r == ASY_AWAIT_DONE      ? ASY_RUN_DONE
               : r == ASY_AWAIT_SUSPEND ? ASY_RUN_SUSPENDED
                                        : ASY_RUN_ERROR;
    }
    AsyFiber *f = t->fiber;
    switch (t->fiber_state) {
    case ASY_TASKF_PARKED: /* onto a fiber from the free list */
        if (ASY_UNLIKELY(!(f = asy_fiber_take(vm)))) return ASY_RUN_ERROR;
        parked_fiber(t, f);
        t->fiber = f;
        t->fiber_state = ASY_TASKF_OWN;
        break;
    case ASY_TASKF_OWN: break;
    case ASY_TASKF_NEW:
        if (!ASY_IS_UNDEF(exc) && t->agen_op) {
            /* CPython throws it into the athrow/asend awaitable, which throws it into the
             * generator: an aclose() cancelled before it began raises CancelledError
             * where the generator waits instead of GeneratorExit */
            AsyAgenOp *op = (AsyAgenOp *)ASY_AS_OBJ(asy_gen_stack((AsyGenerator *)t->coro)[0]);
            if (op->mode == ASY_AGEN_ASEND) op->mode = ASY_AGEN_ATHROW;
            op->value = exc;
            exc = ASY_UNDEF;
        }
        if (!ASY_IS_UNDEF(exc)) {
            raise_stored(vm, exc); /* cancelled before it started: the body never runs */
            t->fiber_state = ASY_TASKF_DONE;
            return ASY_RUN_ERROR;
        }
        if (!(f = asy_fiber_take(vm))) return ASY_RUN_ERROR;
        asy_fiber_init_bare(f);
        t->fiber = f;
        t->fiber_state = ASY_TASKF_OWN;
        return task_resume(vm, t, f, ASY_OBJ(t->coro), ASY_UNDEF, false, out); /* start the coroutine */
    default: /* asy_fiber_resume's error for a DONE fiber */
        asy_raise(vm, ASY_EXC_RuntimeError, "cannot resume a finished task");
        return ASY_RUN_ERROR;
    }
    if (native) {
        AsyValue slept;
        if (ASY_IS_UNDEF(exc) && sleep_over(vm, t, &slept) &&
            asy_fiber_at_await(f, ASY_OBJ(asy_task_native_wait(t)))) {
            asy_task_set_native_wait(t, NULL);
            return task_resume(vm, t, f, slept, ASY_UNDEF, true, out);
        }
        t->step_exc = asy_obj_or_null(exc); /* the await re-executes and raises it (asy_task_take_exc) */
        return task_resume(vm, t, f, ASY_NONE, ASY_UNDEF, false, out);
    }
    return task_resume(vm, t, f, ASY_NONE, exc, false, out);
}

static void report_unretrieved(AsyVM *vm, AsyFuture *f);

/* A task nobody holds is done (asy_task_dropped): in CPython its last reference goes with
 * the step's handle, right after this, and an exception nobody retrieved is logged then.
 * A KeyboardInterrupt or SystemExit leaving it stops the loop instead. */
static void task_dropped_done(AsyVM *vm, AsyTask *t) {
    t->fut.dropped = 0;
    if (t->fut.log_tb && !loop_of(vm)->fatal) report_unretrieved(vm, &t->fut);
}

/* Task.__step: run the coroutine until it waits, returns or raises. */
static void task_step(AsyVM *vm, AsyTask *t, AsyValue exc) {
    AsyLoop *L = loop_of(vm);
    if (t->fut.state != ASY_FUT_PENDING) return;
    if (t->must_cancel) {
        if (!is_cancelled_error(vm, exc)) {
            exc = asy_cancelled_error_new(vm, asy_future_cancel_msg(&t->fut));
            if (ASY_IS_ERR(exc)) {
                exc = ASY_OBJ(vm->exc);
                asy_exc_clear(vm);
            }
        }
        t->must_cancel = 0;
    }
    asy_task_set_fut_waiter(t, NULL);
    t->wait_kind = ASY_WAIT_NONE;
    if (t->wait_state == ASY_WAIT_PENDING) t->wait_state = ASY_WAIT_CANCELLED;
    if (ASY_UNLIKELY(t->ready_link)) task_hold_link(L, t);
    AsyTask *prev = L->current;
    L->current = t;
    if (ASY_UNLIKELY(vm->trace)) asy_trace_step_begin(vm, t);
    AsyValue out = ASY_UNDEF;
    AsyRunStatus st = task_run(vm, t, exc, &out);
    L->current = prev;
    t->step_exc = NULL;
    if (ASY_UNLIKELY(L->held_link)) task_put_back_link(L, t);
    switch (st) {
    case ASY_RUN_DONE: task_finished_ok(vm, t, out); break;
    case ASY_RUN_ERROR: task_finished_exc(vm, t); break;
    case ASY_RUN_SUSPENDED: task_suspended(vm, t, out); break;
    }
    if (ASY_UNLIKELY(vm->trace)) asy_trace_step_end(vm, t);
    if (ASY_UNLIKELY(t->fut.dropped) && t->fut.state != ASY_FUT_PENDING) task_dropped_done(vm, t);
}

/* A future the task awaited is done: step it, with the future's exception if any. */
static void task_wakeup_fut(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyTask *t = task_of(a);
    AsyFuture *f = fut_of(b);
    AsyValue exc = ASY_UNDEF;
    if (f->state == ASY_FUT_CANCELLED) {
        exc = asy_future_cancelled_error(vm, f);
    } else if (f->has_exc) {
        f->log_tb = 0;
        exc = f->result;
    }
    if (ASY_IS_ERR(exc)) {
        exc = ASY_OBJ(vm->exc);
        asy_exc_clear(vm);
    }
    task_step(vm, t, exc);
}

/* ---- the task repr ---- */

/* The line a task's coroutine is at: its bottom frame on the fiber. */
static int task_line(AsyTask *t) {
    AsyFiber view;
    const AsyFiber *f = asy_task_fiber_view(t, &view);
    AsyCode *code = asy_task_code(t);
    if (!f || f->state == ASY_FIBER_NEW || f->nframes == 0) return code ? code->firstline : 0;
    AsyFrame *fr = &f->frames[0];
    if (fr->pc >= 0 && fr->pc < fr->code->ncode) return fr->code->locs[fr->pc].line;
    return fr->code->firstline;
}

static void append_task_coro(AsyVM *vm, AsyStrBuf *b, AsyTask *t) {
    bool done = t->fut.state != ASY_FUT_PENDING;
    if (t->agen_op) { /* CPython's _format_coroutine of an object without a __name__ */
        asy_strbuf_printf(vm, b, " coro=<<%s without __name__>()>", t->agen_op == 1
                          ? "async_generator_asend" : "async_generator_athrow");
        return;
    }
    AsyCode *code = asy_task_code(t);
    if (!code) {
        AsyOp *op = (AsyOp *)t->coro;
        asy_strbuf_printf(vm, b, " coro=<%s() %s " AIO_SRC "tasks.py:%d>", op->name,
                          done ? "done, defined at" : "running at", done ? 627 : 640);
        return;
    }
    AsyGenerator *g = (AsyGenerator *)t->coro;
    const char *qn = asy_gen_site(vm, g)->qualname->data;
    const char *file = code->filename ? code->filename->data : "<empty co_filename>";
    if (done)
        asy_strbuf_printf(vm, b, " coro=<%s() done, defined at %s:%d>", qn, file,
                          (int)code->firstline);
    else
        asy_strbuf_printf(vm, b, " coro=<%s() running at %s:%d>", qn, file, task_line(t));
}

static void append_task_name(AsyVM *vm, AsyStrBuf *b, AsyTask *t) {
    asy_strbuf_append_cstr(vm, b, " name=");
    if (!asy_task_name(t))
        asy_strbuf_printf(vm, b, "'Task-%lld'", (long long)t->num);
    else
        append_repr(vm, b, ASY_OBJ(asy_task_name(t)), false);
}

static AsyValue task_repr(AsyVM *vm, AsyValue self) {
    AsyTask *t = task_of(self);
    AsyStrBuf b;
    asy_strbuf_init(&b);
    asy_root_push(vm, self);
    const char *state = fut_state_names[t->fut.state];
    if (t->num_cancels > 0 && t->fut.state == ASY_FUT_PENDING) state = "cancelling";
    asy_strbuf_printf(vm, &b, "<%s %s", type_name_of(&t->fut.hdr), state);
    append_task_name(vm, &b, t);
    append_task_coro(vm, &b, t);
    if (asy_task_fut_waiter(t)) {
        asy_strbuf_append_cstr(vm, &b, " wait_for=");
        append_repr(vm, &b, ASY_OBJ(asy_task_fut_waiter(t)), false);
    } else if (t->wait_kind != ASY_WAIT_NONE && t->wait_state == ASY_WAIT_PENDING) {
        asy_strbuf_append_cstr(vm, &b, " wait_for=<Future pending cb=[Task.task_wakeup()]>");
    }
    append_outcome(vm, &b, &t->fut);
    append_callbacks(vm, &b, &t->fut);
    if (asy_task_created_at(t) && t->created_debug)
        asy_strbuf_printf(vm, &b, " created at %s", asy_task_created_at(t)->data);
    asy_strbuf_append_cstr(vm, &b, ">");
    asy_root_pop(vm, 1);
    AsyStr *s = asy_strbuf_finish(vm, &b);
    return s ? ASY_OBJ(s) : ASY_ERR;
}

static AsyValue task_name_value(AsyVM *vm, AsyTask *t) {
    if (asy_task_name(t)) return ASY_OBJ(asy_task_name(t));
    AsyStr *s = asy_str_printf(vm, "Task-%lld", (long long)t->num);
    if (!s) return ASY_ERR;
    asy_future_extra_set(vm, &t->fut, ASY_FX_NAME, ASY_OBJ(s));
    return ASY_OBJ(s);
}

/* ==================================================================================== */
/* Native awaitables                                                                    */
/* ==================================================================================== */

/* An awaitable of ours dropped without being awaited warns like a coroutine (its name is a
 * C string, so this reads nothing the sweep may have freed). */
static void op_finalize(AsyVM *vm, AsyObj *o);

static void op_traverse(AsyVM *vm, AsyObj *o) {
    AsyOp *op = (AsyOp *)o;
    asy_gc_mark_value(vm, op->obj);
    asy_gc_mark_value(vm, op->arg);
    asy_gc_mark_obj(vm, (AsyObj *)op->created_file);
}

AsyOp *asy_op_new(AsyVM *vm, AsyOpFn fn, const char *name, AsyValue obj, AsyValue arg) {
    AsyOp *op = asy_gc_alloc(vm, ASY_AIO_TYPE(vm, Op), sizeof(AsyOp));
    op->fn = fn;
    op->name = name;
    op->obj = obj;
    op->arg = arg;
    asy_diag_running_line(vm, &op->created_file, &op->created_line);
    return op;
}

static int op_value_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    ASY_UNUSED(vm);
    ASY_UNUSED(t);
    ASY_UNUSED(resumed);
    *result = op->arg;
    return ASY_AWAIT_DONE;
}

AsyValue asy_op_value(AsyVM *vm, AsyValue v) {
    return ASY_OBJ(asy_op_new(vm, op_value_fn, "coroutine", ASY_UNDEF, v));
}

/* state bits: the op may be awaited any number of times (the shared sleep(0)); it handed a
 * future to whoever steps its coroutine by hand (op_await_stepped); that future's timer
 * fired. */
#define OP_REUSABLE 1u
#define OP_HANDED 2u
#define OP_TIMER_FIRED 4u

static int op_drive(AsyVM *vm, AsyOp *op, AsyTask *t, AsyValue *out) {
    bool resumed = asy_task_native_wait(t) == &op->hdr;
    if (!resumed) {
        if (op->awaited && !(op->state & OP_REUSABLE) && t->coro != &op->hdr) {
            asy_raise(vm, ASY_EXC_RuntimeError, "cannot reuse already awaited coroutine");
            return ASY_AWAIT_ERROR;
        }
        op->awaited = 1;
    }
    asy_task_set_native_wait(t, NULL);
    int r = op->fn(vm, op, t, resumed, out);
    if (r == ASY_AWAIT_SUSPEND) asy_task_set_native_wait(t, &op->hdr);
    t->step_exc = NULL;
    return r;
}

static int op_await_stepped(AsyVM *vm, AsyOp *op, bool resumed, AsyValue *result);
static void op_let_go(AsyVM *vm, AsyOp *op);

static int op_await(AsyVM *vm, AsyValue self, AsyValue sent, AsyAwaitMode mode,
                    AsyValue *result) {
    AsyOp *op = (AsyOp *)ASY_AS_OBJ(self);
    if (mode == ASY_AWAIT_ABANDONED) {
        op_let_go(vm, op);
        return ASY_AWAIT_DONE;
    }
    if (!ASY_IS_UNDEF(sent) || (op->state & OP_HANDED))
        return op_await_stepped(vm, op, true, result);
    if (mode == ASY_AWAIT_STEPPED) return op_await_stepped(vm, op, false, result);
    AsyTask *t = asy_task_current(vm);
    if (!t) {
        asy_raise(vm, ASY_EXC_RuntimeError, "no running event loop");
        return ASY_AWAIT_ERROR;
    }
    *result = ASY_UNDEF;
    if (op == loop_of(vm)->sleep0 && asy_task_native_wait(t) != &op->hdr) {
        /* sleep(0): a bare yield for one pass (op_sleep_fn's, without the indirection);
         * task_run completes the await when the task comes back */
        soon_step(vm, t);
        asy_task_set_native_wait(t, &op->hdr);
        t->step_exc = NULL;
        return ASY_AWAIT_SUSPEND;
    }
    return op_drive(vm, op, t, result);
}

static AsyValue op_repr(AsyVM *vm, AsyValue self) {
    AsyOp *op = (AsyOp *)ASY_AS_OBJ(self);
    return ASY_OBJ(asy_str_printf(vm, "<coroutine object %s at %p>", op->name, (void *)op));
}

static AsyValue op_m_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    ((AsyOp *)ASY_AS_OBJ(argv[0]))->awaited = 1;
    return ASY_NONE;
}

static const char *op_unawaited_name(AsyOp *op) {
    bool warns = !op->awaited && !(op->state & OP_REUSABLE) && op->fn != op_value_fn;
    return warns ? op->name : NULL;
}

const char *asy_op_unawaited_name(AsyVM *vm, AsyObj *o) {
    if (!vm->loop || o->type != ASY_AIO_TYPE(vm, Op)) return NULL;
    return op_unawaited_name((AsyOp *)o);
}

/* (At exit the loop, which holds the Op type, may be gone already.) */
static void op_finalize(AsyVM *vm, AsyObj *o) {
    AsyOp *op = (AsyOp *)o;
    const char *name = op_unawaited_name(op);
    if (name)
        asy_warn_never_awaited_at(vm, o, name, op->created_file ? op->created_file->data : NULL,
                                  op->created_line, NULL);
}

static const AsyMethodDef op_methods[] = {
    {"close", op_m_close, ASY_METH_NOKW, "close() -> raise GeneratorExit inside coroutine."},
    {"__await__", asy_coro_await_method, ASY_METH_NOKW | ASY_METH_SLOT,
     "Return an iterator to be used in await expression."},
    {NULL, NULL, 0, NULL},
};

AsyValue asy_op_shared(AsyVM *vm, AsyOp **slot, AsyOpFn fn, const char *name, AsyValue obj,
                       AsyValue arg) {
    if (!*slot) {
        *slot = asy_op_new(vm, fn, name, obj, arg);
        (*slot)->state = OP_REUSABLE;
    }
    return ASY_OBJ(*slot);
}

/* ---- sleep ---- */

/* The timer of a sleep: the first of CPython's two hops (set_result, then wake-up). */
static void sleep_fire(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyTask *t = task_of(a);
    if ((int64_t)t->wait_gen != ASY_AS_INT(b) || t->wait_kind != ASY_WAIT_SLEEP) return;
    asy_task_wait_resolve(vm, t, ASY_NONE);
}

/* The timer of a sleep whose coroutine is stepped by hand: CPython's
 * _set_result_unless_cancelled on the future it handed out (b). */
static void sleep_stepped_fire(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyOp *op = (AsyOp *)ASY_AS_OBJ(a);
    op->state |= OP_TIMER_FIRED;
    AsyFuture *f = fut_of(b);
    if (!(op->state & OP_HANDED) || f->state != ASY_FUT_PENDING) return;
    AsyValue r = ASY_IS_UNDEF(op->arg) ? ASY_NONE : op->arg;
    if (!asy_future_set_result(vm, f, r)) asy_exc_clear(vm);
}

static bool sleep_stepped_dead(const AsyHandle *h) {
    const AsyOp *op = (const AsyOp *)ASY_AS_OBJ(h->a);
    return !(op->state & OP_HANDED) || fut_of(h->b)->state != ASY_FUT_PENDING;
}

bool asy_timer_dead(AsyVM *vm, const AsyHandle *h) {
    if (h->fn == sleep_stepped_fire) return sleep_stepped_dead(h);
    if (h->fn != sleep_fire) return asy_handle_dead(vm, h);
    AsyTask *t = task_of(h->a);
    return (int64_t)t->wait_gen != ASY_AS_INT(h->b) || t->wait_kind != ASY_WAIT_SLEEP ||
           t->wait_state != ASY_WAIT_PENDING;
}

/* sleep(delay) with delay <= 0 yields for one pass without a timer, as CPython's does; a
 * NaN delay is not <= 0, so CPython 3.11 sets a timer for it (call_later(nan)), which is
 * due at once (the loop's NaN deadline). */
static bool sleep_is_yield(const AsyOp *op) { return op->num <= 0; }

static int op_sleep_fn(AsyVM *vm, AsyOp *op, AsyTask *t, bool resumed, AsyValue *result) {
    if (resumed) {
        if (asy_task_take_exc(vm, t)) return ASY_AWAIT_ERROR;
        *result = ASY_IS_UNDEF(op->arg) ? ASY_NONE : op->arg;
        return ASY_AWAIT_DONE;
    }
    if (sleep_is_yield(op)) { /* sleep(0) and negative delays: a bare yield for one pass */
        soon_step(vm, t);
        return ASY_AWAIT_SUSPEND;
    }
    asy_task_wait_begin(vm, t, ASY_WAIT_SLEEP, NULL);
    if (!asy_loop_call_at(vm, asy_loop_time() + op->num, sleep_fire, ASY_OBJ(t),
                          ASY_INT(t->wait_gen)))
        return ASY_AWAIT_ERROR;
    return ASY_AWAIT_SUSPEND;
}

/* The caller that stepped the sleep is done with its future (CPython's finally: h.cancel()). */
static void op_let_go(AsyVM *vm, AsyOp *op) {
    if (!(op->state & OP_HANDED)) return;
    op->state &= ~OP_HANDED;
    if (!(op->state & OP_TIMER_FIRED)) asy_loop_timer_cancelled(vm); /* its timer is dead */
}

/* An op awaited by a coroutine that a C caller steps (coro.send(), a generator-based
 * __await__ delegating to it): it must not make the running task wait, and what it hands
 * out goes to that caller, as CPython's own awaitables do. sleep(0) yields None once;
 * sleep(delay) yields a Future whose timer sets it, and when the caller sends again the
 * future must be done ("await wasn't used with future"), as in CPython. The other ops
 * (Event.wait, Lock.acquire, ...) are still awaited by the running task. */
static int op_await_stepped(AsyVM *vm, AsyOp *op, bool resumed, AsyValue *result) {
    AsyLoop *L = loop_of(vm);
    if (op->fn != op_sleep_fn) {
        AsyTask *t = asy_task_current(vm);
        if (!t) {
            asy_raise(vm, ASY_EXC_RuntimeError, "no running event loop");
            return ASY_AWAIT_ERROR;
        }
        *result = ASY_UNDEF;
        return op_drive(vm, op, t, result);
    }
    AsyValue value = ASY_IS_UNDEF(op->arg) ? ASY_NONE : op->arg;
    if (sleep_is_yield(op)) { /* sleep(0): a bare yield */
        if (resumed) {
            *result = value;
            return ASY_AWAIT_DONE;
        }
        if (!(op->state & OP_REUSABLE)) op->awaited = 1;
        *result = ASY_NONE;
        return ASY_AWAIT_SUSPEND;
    }
    if (resumed && ASY_IS_OBJ(op->obj)) {
        AsyFuture *f = fut_of(op->obj);
        op_let_go(vm, op);
        if (f->state == ASY_FUT_PENDING) {
            asy_raise(vm, ASY_EXC_RuntimeError, "await wasn't used with future");
            return ASY_AWAIT_ERROR;
        }
        *result = asy_future_result(vm, f);
        return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
    }
    if (op->awaited) {
        asy_raise(vm, ASY_EXC_RuntimeError, "cannot reuse already awaited coroutine");
        return ASY_AWAIT_ERROR;
    }
    op->awaited = 1;
    if (!L->running) {
        asy_raise(vm, ASY_EXC_RuntimeError, "no running event loop");
        return ASY_AWAIT_ERROR;
    }
    AsyFuture *f = asy_future_new(vm);
    op->obj = ASY_OBJ(f);
    if (!asy_loop_call_at(vm, asy_loop_time() + op->num, sleep_stepped_fire, ASY_OBJ(op),
                          ASY_OBJ(f)))
        return ASY_AWAIT_ERROR;
    op->state |= OP_HANDED;
    *result = ASY_OBJ(f);
    return ASY_AWAIT_SUSPEND;
}

AsyValue asy_sleep_op(AsyVM *vm, double delay, AsyValue result) {
    static const char name[] = "sleep";
    if (delay <= 0 && (ASY_IS_UNDEF(result) || ASY_IS_NONE(result))) {
        AsyLoop *L = loop_of(vm);
        if (!L->sleep0) {
            L->sleep0 = asy_op_new(vm, op_sleep_fn, name, ASY_UNDEF, ASY_NONE);
            L->sleep0->state = OP_REUSABLE;
        }
        return ASY_OBJ(L->sleep0);
    }
    AsyOp *op = asy_op_new(vm, op_sleep_fn, name, ASY_UNDEF, result);
    op->num = delay;
    return ASY_OBJ(op);
}

/* ---- awaiting a future ---- */

static int future_await(AsyVM *vm, AsyValue self, AsyValue sent, AsyAwaitMode mode,
                        AsyValue *result) {
    AsyFuture *f = fut_of(self);
    if (mode == ASY_AWAIT_ABANDONED) return ASY_AWAIT_DONE;
    if (!ASY_IS_UNDEF(sent) || mode == ASY_AWAIT_STEPPED) {
        /* Stepped by hand (CPython's Future.__await__): a pending future yields itself to
         * the caller, and when the caller sends again it must be done. */
        if (f->state == ASY_FUT_PENDING) {
            if (ASY_IS_UNDEF(sent)) {
                *result = self;
                return ASY_AWAIT_SUSPEND;
            }
            asy_raise(vm, ASY_EXC_RuntimeError, "await wasn't used with future");
            return ASY_AWAIT_ERROR;
        }
        *result = asy_future_result(vm, f);
        return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
    }
    AsyTask *t = asy_task_current(vm);
    if (t && asy_task_native_wait(t) == &f->hdr) { /* resumed after the wake-up */
        asy_task_set_native_wait(t, NULL);
        if (asy_task_take_exc(vm, t)) return ASY_AWAIT_ERROR;
        if (f->state == ASY_FUT_PENDING) {
            asy_raise(vm, ASY_EXC_RuntimeError, "await wasn't used with future");
            return ASY_AWAIT_ERROR;
        }
    }
    if (f->state != ASY_FUT_PENDING) {
        *result = asy_future_result(vm, f);
        return ASY_IS_ERR(*result) ? ASY_AWAIT_ERROR : ASY_AWAIT_DONE;
    }
    if (!t) {
        asy_raise(vm, ASY_EXC_RuntimeError, "await wasn't used with future");
        return ASY_AWAIT_ERROR;
    }
    *result = ASY_UNDEF;
    asy_task_set_native_wait(t, &f->hdr);
    if (f == &t->fut) { /* CPython reports it at the next step */
        asy_raise(vm, ASY_EXC_RuntimeError, "Task cannot await on itself: %R", self);
        AsyValue err = ASY_OBJ(vm->exc);
        asy_exc_clear(vm);
        soon(vm, task_step_h, ASY_OBJ(t), err);
        return ASY_AWAIT_SUSPEND;
    }
    if (!asy_future_add_cb(vm, f, task_wakeup_fut, ASY_OBJ(t))) {
        asy_task_set_native_wait(t, NULL);
        return ASY_AWAIT_ERROR;
    }
    asy_task_set_fut_waiter(t, f);
    return ASY_AWAIT_SUSPEND;
}

/* ==================================================================================== */
/* Error reports                                                                        */
/* ==================================================================================== */

void asy_loop_log_error(AsyVM *vm, const char *message, const char *label, AsyValue obj,
                        AsyException *exc) {
    FILE *err = vm->err ? vm->err : stderr;
    fflush(vm->out ? vm->out : stdout);
    fprintf(err, "%s\n", message);
    if (label) {
        AsyValue r = asy_repr(vm, obj);
        if (ASY_IS_ERR(r)) {
            asy_exc_clear(vm);
            fprintf(err, "%s: <unprintable>\n", label);
        } else {
            fprintf(err, "%s: %s\n", label, ((AsyStr *)ASY_AS_OBJ(r))->data);
        }
    }
    if (exc) asy_traceback_print(vm, exc, err);
    fflush(err);
}

void asy_loop_log_slow(AsyVM *vm, const AsyHandle *h, double dt) {
    AsyValue what;
    if (h->fn == task_step_h || h->fn == task_wakeup_fut || h->fn == task_wakeup_implicit) {
        what = asy_repr(vm, h->a);
    } else if (h->fn == asy_future_cb_call) {
        AsyStrBuf b;
        asy_strbuf_init(&b);
        asy_strbuf_append_cstr(vm, &b, "<Handle ");
        append_callable(vm, &b, h->a);
        asy_strbuf_append_cstr(vm, &b, "(");
        append_repr(vm, &b, h->b, true);
        asy_strbuf_append_cstr(vm, &b, ")");
        append_callable_source(vm, &b, h->a);
        asy_strbuf_append_cstr(vm, &b, ">");
        AsyStr *s = asy_strbuf_finish(vm, &b);
        what = s ? ASY_OBJ(s) : ASY_ERR;
    } else if (ASY_IS_OBJ(h->a) && ASY_AS_OBJ(h->a)->type == ASY_AIO_TYPE(vm, Handle)) {
        what = asy_str(vm, h->a);
    } else {
        return; /* the runtime's own bookkeeping */
    }
    if (ASY_IS_ERR(what)) {
        asy_exc_clear(vm);
        return;
    }
    fflush(vm->out ? vm->out : stdout);
    FILE *err = vm->err ? vm->err : stderr;
    fprintf(err, "Executing %s took %.3f seconds\n", ((AsyStr *)ASY_AS_OBJ(what))->data, dt);
    fflush(err);
}

/* "Task exception was never retrieved" for f (the caller keeps it), once. */
static void report_unretrieved(AsyVM *vm, AsyFuture *f) {
    f->log_tb = 0;
    AsyStr *msg = asy_str_printf(vm, "%s exception was never retrieved", type_name_of(&f->hdr));
    if (!msg) {
        asy_exc_clear(vm);
        return;
    }
    asy_loop_log_error(vm, msg->data, "future", ASY_OBJ(f), (AsyException *)ASY_AS_OBJ(f->result));
}

/* The failures still held somewhere when asyncio.run ends, in the order they happened:
 * CPython reports each when its last reference goes, which for these is at the latest
 * at the end of the run (a task kept in a list: when the list goes). */
void asy_task_report_unretrieved(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    AsyList *l = L->unretrieved;
    if (!l) return;
    L->unretrieved = NULL;
    L->unretrieved_pruned = 0;
    asy_root_push(vm, ASY_OBJ(l));
    for (int64_t i = 0; i < l->len; i++) {
        AsyFuture *f = fut_of(l->items[i]);
        if (f->log_tb) report_unretrieved(vm, f);
    }
    asy_root_pop(vm, 1);
}

/* ==================================================================================== */
/* Methods                                                                              */
/* ==================================================================================== */

static AsyFuture *self_fut(AsyValue *argv) { return fut_of(argv[0]); }

static AsyValue fm_result(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "result", argc - 1, 0, 0)) return ASY_ERR;
    return asy_future_result(vm, self_fut(argv));
}

static AsyValue fm_exception(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "exception", argc - 1, 0, 0)) return ASY_ERR;
    return asy_future_exception(vm, self_fut(argv));
}

static AsyValue fm_done(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "done", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(self_fut(argv)->state != ASY_FUT_PENDING);
}

static AsyValue fm_cancelled(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "cancelled", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_BOOL(self_fut(argv)->state == ASY_FUT_CANCELLED);
}

static AsyValue fm_cancel(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue msg = asy_kwarg(vm, kw, "msg");
    if (!asy_check_kw_done(vm, "cancel", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "cancel", argc - 1 + !ASY_IS_UNDEF(msg), 0, 1)) return ASY_ERR;
    if (argc > 1) msg = argv[1];
    if (ASY_IS_NONE(msg)) msg = ASY_UNDEF;
    return ASY_BOOL(asy_future_cancel(vm, self_fut(argv), msg));
}

static AsyValue fm_add_done_callback(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    asy_kwarg(vm, kw, "context");
    if (!asy_check_kw_done(vm, "add_done_callback", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "add_done_callback", argc - 1, 1, 1)) return ASY_ERR;
    if (!asy_future_add_cb(vm, self_fut(argv), asy_future_cb_call, argv[1])) return ASY_ERR;
    return ASY_NONE;
}

static AsyValue fm_remove_done_callback(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "remove_done_callback", argc - 1, 1, 1)) return ASY_ERR;
    int64_t n = asy_future_remove_cb(vm, self_fut(argv), asy_future_cb_call, argv[1]);
    return n < 0 ? ASY_ERR : ASY_INT(n);
}

static AsyValue fm_set_result(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set_result", argc - 1, 1, 1)) return ASY_ERR;
    return asy_future_set_result(vm, self_fut(argv), argv[1]) ? ASY_NONE : ASY_ERR;
}

static AsyValue fm_set_exception(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set_exception", argc - 1, 1, 1)) return ASY_ERR;
    return asy_future_set_exception(vm, self_fut(argv), argv[1]) ? ASY_NONE : ASY_ERR;
}

static AsyValue fm_get_loop(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argv);
    if (!asy_check_args(vm, "get_loop", argc - 1, 0, 0)) return ASY_ERR;
    AsyObj *lo = loop_of(vm)->loop_obj;
    return lo ? ASY_OBJ(lo) : ASY_NONE;
}

void asy_future_cb_call(AsyVM *vm, AsyValue arg, AsyValue fut) {
    AsyValue r = asy_call(vm, arg, 1, &fut, NULL);
    if (!ASY_IS_ERR(r)) return;
    AsyException *e = vm->exc;
    asy_exc_clear(vm);
    if (asy_exc_is(vm, ASY_OBJ(e), vm->exc_types[ASY_EXC_KeyboardInterrupt]) ||
        asy_exc_is(vm, ASY_OBJ(e), vm->exc_types[ASY_EXC_SystemExit])) {
        loop_of(vm)->fatal = e;
        return;
    }
    AsyStrBuf b;
    asy_strbuf_init(&b);
    append_callable(vm, &b, arg);
    asy_strbuf_append_cstr(vm, &b, "(");
    append_repr(vm, &b, fut, true);
    asy_strbuf_append_cstr(vm, &b, ")");
    append_callable_source(vm, &b, arg);
    AsyStr *desc = asy_strbuf_finish(vm, &b);
    if (!desc) {
        asy_exc_clear(vm);
        return;
    }
    fflush(vm->out ? vm->out : stdout);
    FILE *err = vm->err ? vm->err : stderr;
    fprintf(err, "Exception in callback %s\nhandle: <Handle %s>\n", desc->data, desc->data);
    asy_traceback_print(vm, e, err);
}

static AsyValue fm_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw);

static const AsyMethodDef future_methods[] = {
    {"__init__", fm_init, 0, "Initialize self."},
    {"__await__", asy_coro_await_method, ASY_METH_NOKW | ASY_METH_SLOT,
     "Return an iterator to be used in await expression."},
    {"result", fm_result, 0, "Return the result this future represents."},
    {"exception", fm_exception, 0, "Return the exception that was set on this future."},
    {"done", fm_done, 0, "Return True if the future is done."},
    {"cancelled", fm_cancelled, 0, "Return True if the future was cancelled."},
    {"cancel", fm_cancel, 0, "Cancel the future and schedule callbacks."},
    {"add_done_callback", fm_add_done_callback, 0, "Add a callback to be run when done."},
    {"remove_done_callback", fm_remove_done_callback, 0, "Remove all instances of a callback."},
    {"set_result", fm_set_result, 0, "Mark the future done and set its result."},
    {"set_exception", fm_set_exception, 0, "Mark the future done and set an exception."},
    {"get_loop", fm_get_loop, 0, "Return the event loop the Future is bound to."},
    {NULL, NULL, 0, NULL},
};

static AsyTask *self_task(AsyValue *argv) { return task_of(argv[0]); }

static AsyValue tm_get_name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_name", argc - 1, 0, 0)) return ASY_ERR;
    return task_name_value(vm, self_task(argv));
}

static AsyValue tm_set_name(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "set_name", argc - 1, 1, 1)) return ASY_ERR;
    AsyValue s = asy_str(vm, argv[1]);
    if (ASY_IS_ERR(s)) return s;
    asy_future_extra_set(vm, &self_task(argv)->fut, ASY_FX_NAME, s);
    return ASY_NONE;
}

static AsyValue tm_get_coro(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "get_coro", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_OBJ(self_task(argv)->coro);
}

static AsyValue tm_cancelling(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "cancelling", argc - 1, 0, 0)) return ASY_ERR;
    return ASY_INT(self_task(argv)->num_cancels);
}

static AsyValue tm_uncancel(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "uncancel", argc - 1, 0, 0)) return ASY_ERR;
    AsyTask *t = self_task(argv);
    if (t->num_cancels > 0) t->num_cancels--;
    return ASY_INT(t->num_cancels);
}

/* A task's result is its coroutine's: CPython's Task refuses to be set from outside. */
static AsyValue tm_set_result(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argv);
    if (!asy_check_args(vm, "set_result", argc - 1, 1, 1)) return ASY_ERR;
    return asy_raise(vm, ASY_EXC_RuntimeError, "Task does not support set_result operation");
}

static AsyValue tm_set_exception(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    ASY_UNUSED(argv);
    if (!asy_check_args(vm, "set_exception", argc - 1, 1, 1)) return ASY_ERR;
    return asy_raise(vm, ASY_EXC_RuntimeError, "Task does not support set_exception operation");
}

static const AsyMethodDef task_methods[] = {
    {"set_result", tm_set_result, 0, "Not supported: a task's result is its coroutine's."},
    {"set_exception", tm_set_exception, 0, "Not supported: a task's result is its coroutine's."},
    {"cancel", fm_cancel, 0, "Request that this task cancel itself."},
    {"get_name", tm_get_name, 0, "Return the name of the task."},
    {"set_name", tm_set_name, 0, "Set the name of the task."},
    {"get_coro", tm_get_coro, 0, "Return the coroutine the task wraps."},
    {"cancelling", tm_cancelling, 0, "Return the number of pending cancellation requests."},
    {"uncancel", tm_uncancel, 0, "Decrement the count of cancellation requests."},
    {NULL, NULL, 0, NULL},
};

/* asyncio.Future(): a new pending future (any keyword `loop` is ignored). */
static bool future_check_args(AsyVM *vm, const char *name, int argc, AsyDict *kw) {
    asy_kwarg(vm, kw, "loop");
    return asy_check_kw_done(vm, name, kw) && asy_check_args(vm, name, argc, 0, 0);
}

static AsyValue future_new_slot(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    /* a subclass's __init__ takes its arguments (object.__new__'s rule) */
    if (!(type->tflags & ASY_TYPE_HEAP) && !future_check_args(vm, "Future", argc, kw))
        return ASY_ERR;
    return ASY_OBJ(asy_future_alloc(vm, type, ASY_FUTK_PLAIN));
}

static AsyValue fm_init(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(argv);
    return future_check_args(vm, "__init__", argc - 1, kw) ? ASY_NONE : ASY_ERR;
}

/* asyncio.Task(coro, *, loop=None, name=None). */
static AsyValue task_new_slot(AsyVM *vm, AsyType *type, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(type);
    AsyValue name = asy_kwarg(vm, kw, "name");
    asy_kwarg(vm, kw, "loop");
    asy_kwarg(vm, kw, "context");
    if (!asy_check_kw_done(vm, "Task", kw)) return ASY_ERR;
    if (!asy_check_args(vm, "Task", argc, 1, 1)) return ASY_ERR;
    if (!asy_aio_is_coroutine(vm, argv[0]))
        return asy_raise(vm, ASY_EXC_TypeError, "a coroutine was expected, got %R", argv[0]);
    if (!loop_of(vm)->running) return asy_raise(vm, ASY_EXC_RuntimeError, "no running event loop");
    if (ASY_IS_NONE(name)) name = ASY_UNDEF;
    if (!ASY_IS_UNDEF(name)) {
        name = asy_str(vm, name);
        if (ASY_IS_ERR(name)) return name;
    }
    AsyTask *t = asy_task_new(vm, argv[0], name);
    if (t && !ASY_IS_UNDEF(name)) loop_of(vm)->task_counter--;
    return t ? ASY_OBJ(t) : ASY_ERR;
}

static bool future_hash(AsyVM *vm, AsyValue self, int64_t *out) {
    ASY_UNUSED(vm);
    *out = (int64_t)((uintptr_t)ASY_AS_OBJ(self) >> 4);
    return true;
}

static AsyType *aio_type(AsyVM *vm, const char *name, AsyType *base, size_t size) {
    AsyType *t = asy_type_new_builtin(vm, name, base, size);
    t->module = asy_str_intern_cstr(vm, "_asyncio");
    return t;
}

void asy_task_init_types(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    /* The ready queue's compact entries, the most frequent first (loop.h) */
    asy_loop_add_kind(L, task_step_h, ASY_T_UNDEF);          /* KIND_STEP */
    asy_loop_add_kind(L, task_wakeup_implicit, ASY_T_INT);   /* KIND_WAKE */
    asy_loop_add_kind(L, asy_gather_child_done, ASY_T_OBJ);
    asy_loop_add_kind(L, task_wakeup_fut, ASY_T_OBJ);
    asy_loop_add_kind(L, task_step_h, ASY_T_OBJ);
    asy_loop_add_kind(L, sleep_fire, ASY_T_INT);
    asy_loop_add_kind(L, asy_future_cb_call, ASY_T_OBJ);
    unsigned chain_step = asy_loop_add_chain(L, task_step_h, ASY_CHAIN_STEP);
    unsigned chain_wake = asy_loop_add_chain(L, task_wakeup_implicit, ASY_CHAIN_WAKE);
    unsigned chain_done = asy_loop_add_chain(L, NULL, ASY_CHAIN_DONE_CB);
    if (chain_step != CHAIN_STEP || chain_wake != CHAIN_WAKE || chain_done != CHAIN_DONE_CB)
        abort(); /* the enum at the top follows this order */
    AsyType *f = aio_type(vm, "Future", ASY_TYPE(vm, object), sizeof(AsyFuture));
    f->tflags |= ASY_TYPE_BASETYPE;
    f->traverse = asy_future_traverse;
    f->finalize = future_finalize;
    f->repr = future_repr;
    f->hash = future_hash;
    f->new_ = future_new_slot;
    f->iter = asy_await_iter; /* `yield from future` in a generator-based __await__ */
    asy_type_add_methods(vm, f, future_methods);
    asy_type_ready(vm, f);
    asy_type_set_tp_name(vm, f, "_asyncio.Future");
    f->await_ = future_await;
    L->types[ASY_AIO_Future] = f;

    AsyType *t = aio_type(vm, "Task", f, sizeof(AsyTask));
    t->traverse = task_traverse;
    t->finalize = task_finalize;
    t->repr = task_repr;
    t->new_ = task_new_slot;
    asy_type_add_methods(vm, t, task_methods);
    asy_type_ready(vm, t);
    asy_type_set_tp_name(vm, t, "_asyncio.Task");
    t->await_ = future_await;
    L->types[ASY_AIO_Task] = t;

    asy_gather_init_type(vm);

    AsyType *op = aio_type(vm, "coroutine", ASY_TYPE(vm, object), sizeof(AsyOp));
    op->traverse = op_traverse;
    op->finalize = op_finalize;
    op->tflags |= ASY_TYPE_FINALIZE_AT_EXIT; /* "never awaited" */
    op->repr = op_repr;
    asy_type_add_methods(vm, op, op_methods);
    asy_type_ready(vm, op);
    op->await_ = op_await;
    L->types[ASY_AIO_Op] = op;
}
