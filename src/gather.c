/* gather.c - asyncio.gather and the _GatheringFuture it returns, and ensure_future, which
 * gather uses to turn its arguments into futures. The order of everything observable
 * (results in argument order, the first error wins, a cancelled child, cancelling the
 * gather) is CPython 3.11's tasks.gather, whose _done_callback runs one pass after each
 * child completes.
 */
#include "common.h"

#include <string.h>

#include "task.h"

#define AS_FUT(v) ((AsyFuture *)ASY_AS_OBJ(v))

typedef struct {
    AsyFuture fut;
    AsyObj *holder;           /* the tuple holding the children                        */
    AsyValue *children;       /* one per argument, repeats included: holder's items    */
    int64_t nchildren;        /* how many are set (all but while gather() runs)        */
    int64_t nfuts, nfinished; /* distinct children, and how many are done              */
    bool return_exceptions;
    bool cancel_requested;
} AsyGather;

static void gather_traverse(AsyVM *vm, AsyObj *o) {
    asy_future_traverse(vm, o);
    asy_gc_mark_obj(vm, ((AsyGather *)o)->holder);
}

bool asy_gather_cancel(AsyVM *vm, AsyFuture *f, AsyValue msg) {
    AsyGather *g = (AsyGather *)f;
    if (f->state != ASY_FUT_PENDING) return false;
    bool ret = false;
    for (int64_t i = 0; i < g->nchildren; i++)
        if (asy_future_cancel(vm, AS_FUT(g->children[i]), msg)) ret = true;
    if (ret) g->cancel_requested = true;
    return ret;
}

static AsyValue gather_results(AsyVM *vm, AsyGather *g) {
    AsyList *res = asy_list_new(vm, g->nchildren);
    if (!res) return ASY_ERR;
    for (int64_t i = 0; i < g->nchildren; i++) {
        AsyFuture *c = AS_FUT(g->children[i]);
        AsyValue v;
        if (c->state == ASY_FUT_CANCELLED) {
            AsyValue msg = asy_future_cancel_msg(c);
            if (ASY_IS_UNDEF(msg) || ASY_IS_NONE(msg)) msg = ASY_OBJ(vm->empty_str);
            v = asy_cancelled_error_new(vm, msg);
            if (ASY_IS_ERR(v)) return v;
        } else if (c->has_exc) {
            c->log_tb = 0;
            v = c->result;
        } else {
            v = c->result;
        }
        res->items[res->len++] = v;
    }
    return ASY_OBJ(res);
}

/* gather's _done_callback: a = the gathering future, b = the child. */
void asy_gather_child_done(AsyVM *vm, AsyValue a, AsyValue b) {
    AsyGather *g = (AsyGather *)ASY_AS_OBJ(a);
    AsyFuture *child = AS_FUT(b);
    g->nfinished++;
    if (g->fut.state != ASY_FUT_PENDING) {
        if (child->state != ASY_FUT_CANCELLED) child->log_tb = 0;
        return;
    }
    if (!g->return_exceptions) {
        if (child->state == ASY_FUT_CANCELLED) {
            AsyValue exc = asy_future_cancelled_error(vm, child);
            if (!ASY_IS_ERR(exc))
                asy_future_store_exception(vm, &g->fut, exc);
            else
                asy_exc_clear(vm);
            return;
        }
        if (child->has_exc) {
            child->log_tb = 0;
            asy_future_store_exception(vm, &g->fut, child->result);
            return;
        }
    }
    if (g->nfinished < g->nfuts) return;
    if (g->cancel_requested) {
        AsyValue exc = asy_future_cancelled_error(vm, child);
        if (!ASY_IS_ERR(exc))
            asy_future_store_exception(vm, &g->fut, exc);
        else
            asy_exc_clear(vm);
        return;
    }
    AsyValue res = gather_results(vm, g);
    if (ASY_IS_ERR(res)) {
        asy_future_store_exception(vm, &g->fut, ASY_OBJ(vm->exc));
        asy_exc_clear(vm);
        return;
    }
    asy_future_set_result(vm, &g->fut, res);
}

AsyValue asy_ensure_future(AsyVM *vm, AsyValue aw) {
    if (asy_is_future(vm, aw)) return aw;
    if (asy_aio_is_coroutine(vm, aw)) {
        if (!((AsyLoop *)vm->loop)->running)
            return asy_raise(vm, ASY_EXC_RuntimeError, "no running event loop");
        ((AsyLoop *)vm->loop)->create_site = "tasks.py:680";
        AsyTask *t = asy_task_new(vm, aw, ASY_UNDEF);
        return t ? ASY_OBJ(t) : ASY_ERR;
    }
    return asy_raise(vm, ASY_EXC_TypeError,
                     "An asyncio.Future, a coroutine or an awaitable is required");
}

/* The child already made for an argument passed twice (gather(t, t)). */
static AsyValue gather_seen(AsyValue *argv, const AsyValue *children, int i) {
    for (int j = 0; j < i; j++)
        if (asy_value_is(argv[j], argv[i])) return children[j];
    return ASY_UNDEF;
}

/* Give g a tuple of its own for its children, the first `done` of them copied from argv
 * (they were their own children). false with MemoryError pending. */
static bool gather_own_children(AsyVM *vm, AsyGather *g, int argc, AsyValue *argv, int done) {
    AsyTuple *t = asy_tuple_new(vm, argc);
    if (!t) return false;
    memcpy(t->items, argv, sizeof(AsyValue) * (size_t)done);
    g->holder = &t->hdr;
    g->children = t->items;
    return true;
}

AsyValue asy_gather(AsyVM *vm, int argc, AsyValue *argv, bool return_exceptions) {
    AsyGather *g =
        (AsyGather *)asy_future_alloc(vm, ASY_AIO_TYPE(vm, GatheringFuture), ASY_FUTK_GATHER);
    g->return_exceptions = return_exceptions;
    asy_root_push(vm, ASY_OBJ(g));
    /* The children are the arguments when each is a future already: when those came as
     * the items of f(*args)'s tuple, gather keeps that tuple rather than a copy of it
     * (the first argument that is not its own child makes the copy). */
    AsyTuple *args = vm->native_args;
    AsyValue r = ASY_OBJ(g);
    if (args && args->items == argv && args->len == argc) {
        g->holder = &args->hdr;
        g->children = argv;
    } else if (!gather_own_children(vm, g, argc, argv, 0)) {
        r = ASY_ERR;
    }
    for (int i = 0; i < argc && !ASY_IS_ERR(r); i++) {
        /* CPython looks each argument up in a dict first: a list passed instead of its
         * items (gather([a, b])) is "unhashable type: 'list'" */
        int64_t h;
        if (!asy_hash(vm, argv[i], &h)) {
            r = ASY_ERR;
            break;
        }
        AsyValue fut = argc <= 64 ? gather_seen(argv, g->children, i) : ASY_UNDEF;
        if (ASY_IS_UNDEF(fut)) {
            fut = asy_ensure_future(vm, argv[i]);
            if (ASY_IS_ERR(fut) || !asy_future_add_cb(vm, AS_FUT(fut), asy_gather_child_done, r)) {
                r = ASY_ERR;
                break;
            }
            g->nfuts++;
        }
        /* (a task just made for a coroutine is held by the loop's task list meanwhile) */
        if (g->children == argv && !asy_value_is(fut, argv[i]) &&
            !gather_own_children(vm, g, argc, argv, i)) {
            r = ASY_ERR;
            break;
        }
        if (g->children != argv) g->children[i] = fut;
        g->nchildren++;
    }
    if (argc == 0 && !ASY_IS_ERR(r)) {
        AsyList *empty = asy_list_new(vm, 0);
        if (!empty || !asy_future_set_result(vm, &g->fut, ASY_OBJ(empty))) r = ASY_ERR;
    }
    asy_root_pop(vm, 1);
    return r;
}

void asy_gather_init_type(AsyVM *vm) {
    AsyLoop *L = vm->loop;
    AsyType *g =
        asy_type_new_builtin(vm, "_GatheringFuture", L->types[ASY_AIO_Future], sizeof(AsyGather));
    g->module = asy_str_intern_cstr(vm, "asyncio.tasks");
    g->traverse = gather_traverse;
    asy_type_ready(vm, g);
    g->await_ = L->types[ASY_AIO_Future]->await_;
    L->types[ASY_AIO_GatheringFuture] = g;
}
