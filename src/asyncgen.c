/* asyncgen.c - what CPython's event loop does for async generators (asyncgen.h): the
 * registry of those first iterated while a loop runs (the firstiter hook), the aclose()
 * task of one abandoned unfinished (the finalizer hook), and loop.shutdown_asyncgens()
 * at the end of asyncio.run. Follows base_events.py of CPython 3.11.
 */
#include "asyncgen.h"

#include <stdlib.h>

#include "task.h"

static AsyLoop *loop_of(AsyVM *vm) { return (AsyLoop *)vm->loop; }

/* Append o to a malloc'd array of object pointers (not GC memory: the collector's weak
 * pass appends too). */
static void ptrs_push(AsyObj ***arr, size_t *n, size_t *cap, AsyObj *o) {
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        AsyObj **a = realloc(*arr, c * sizeof *a);
        if (!a) {
            fprintf(stderr, "asy: fatal: out of memory\n");
            exit(70);
        }
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = o;
}

bool asy_agen_hooks_init(AsyVM *vm, AsyGenerator *g) {
    if (g->hooks_inited) return true;
    g->hooks_inited = 1;
    AsyLoop *L = loop_of(vm);
    if (!L || !L->running) return true; /* no hooks outside a running loop */
    g->finalizer = 1;
    ptrs_push(&L->agens, &L->nagens, &L->agencap, &g->hdr);
    return true;
}

/* The handle call_soon(loop.create_task, agen.aclose()) queues. */
static void create_aclose_task(AsyVM *vm, AsyValue op, AsyValue unused) {
    ASY_UNUSED(unused);
    loop_of(vm)->create_site = "base_events.py:549";
    AsyTask *t = asy_task_new(vm, op, ASY_UNDEF);
    if (!t)
        asy_exc_clear(vm);
    else
        t->fut.dropped = 1; /* nothing holds it: a failure is reported when it fails */
}

void asy_agen_finalize(AsyVM *vm, AsyGenerator *g) {
    AsyLoop *L = loop_of(vm);
    if (!g->finalizer || g->ag_closed || !L) return;
    g->finalizer = 0; /* self._asyncgens.discard(agen): the registry drops it lazily */
    AsyValue aclose = asy_agen_aclose(vm, g);
    if (ASY_IS_ERR(aclose) || !asy_loop_call_soon(vm, create_aclose_task, aclose, ASY_UNDEF))
        asy_exc_clear(vm);
}

bool asy_agen_gc_weak(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    size_t kept = 0, dying = L->ndying;
    for (size_t i = 0; i < L->nagens; i++) {
        AsyGenerator *g = (AsyGenerator *)L->agens[i];
        if (!g->finalizer) continue; /* finalized already */
        if (asy_gc_is_marked(&g->hdr)) {
            L->agens[kept++] = &g->hdr;
        } else if (!g->ag_closed) {
            asy_gc_mark_obj(vm, &g->hdr); /* alive until its aclose() is scheduled */
            ptrs_push(&L->dying, &L->ndying, &L->dyingcap, &g->hdr);
        }
    }
    L->nagens = kept;
    return L->ndying > dying;
}

void asy_agen_flush_dying(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    /* in the order found; each stays marked (L->dying) until it is taken off */
    for (size_t i = 0; i < L->ndying; i++) {
        AsyGenerator *g = (AsyGenerator *)L->dying[i];
        asy_root_push(vm, ASY_OBJ(g));
        asy_agen_finalize(vm, g);
        asy_root_pop(vm, 1);
    }
    L->ndying = 0;
}

/* The generators shutdown_asyncgens closes: every registered one not finalized (the
 * dying included), oldest first; the registry is emptied. NULL with MemoryError. */
static AsyList *take_registered(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    AsyList *out = asy_list_new(vm, 0);
    if (!out) return NULL;
    asy_root_push(vm, ASY_OBJ(out));
    for (int pass = 0; pass < 2; pass++) {
        AsyObj **arr = pass ? L->dying : L->agens;
        size_t n = pass ? L->ndying : L->nagens;
        for (size_t i = 0; i < n; i++) {
            AsyGenerator *g = (AsyGenerator *)arr[i];
            /* a closed one is taken for dead: CPython's set keeps it while it lives, and
             * closes it again, which does nothing (or raises StopAsyncIteration, for one
             * that ignored GeneratorExit) */
            if (!g->finalizer || g->ag_closed) continue;
            g->finalizer = 0;
            if (asy_list_append(vm, out, ASY_OBJ(g)) < 0) {
                asy_root_pop(vm, 1);
                return NULL;
            }
        }
    }
    L->nagens = L->ndying = 0;
    asy_root_pop(vm, 1);
    return out;
}

/* shutdown_asyncgens' report of an error closing agen, through the exception handler. */
static void report_close_error(AsyVM *vm, AsyValue agen, AsyValue exc) {
    AsyValue rep = asy_repr(vm, agen);
    if (ASY_IS_ERR(rep)) {
        asy_exc_clear(vm);
        return;
    }
    asy_root_push(vm, rep);
    AsyStr *msg = asy_str_printf(vm,
                                 "an error occurred during closing of asynchronous "
                                 "generator %s",
                                 ((AsyStr *)ASY_AS_OBJ(rep))->data);
    asy_root_pop(vm, 1);
    if (!msg) {
        asy_exc_clear(vm);
        return;
    }
    asy_root_push(vm, ASY_OBJ(msg));
    asy_loop_log_error(vm, msg->data, "asyncgen", agen, (AsyException *)ASY_AS_OBJ(exc));
    asy_root_pop(vm, 1);
}

/* results[i] is the outcome of closing agens[i]: report the exceptions (Exception, not
 * BaseException), as shutdown_asyncgens does. */
static void report_close_errors(AsyVM *vm, AsyList *agens, AsyFuture *gathered) {
    AsyValue res = asy_future_result(vm, gathered);
    if (ASY_IS_ERR(res) || !ASY_IS_OBJ(res) || ASY_AS_OBJ(res)->type != ASY_TYPE(vm, list)) {
        asy_exc_clear(vm);
        return;
    }
    AsyList *results = (AsyList *)ASY_AS_OBJ(res);
    asy_root_push(vm, res);
    for (int64_t i = 0; i < results->len && i < agens->len; i++)
        if (asy_isinstance(vm, results->items[i], vm->exc_types[ASY_EXC_Exception]))
            report_close_error(vm, agens->items[i], results->items[i]);
    asy_root_pop(vm, 1);
}

/* Forget what is still registered: generators first iterated while the shutdown ran
 * (CPython warns of those) get no finalizer after the loop. */
static void forget_registered(AsyLoop *L) {
    for (size_t i = 0; i < L->nagens; i++)
        ((AsyGenerator *)L->agens[i])->finalizer = 0;
    for (size_t i = 0; i < L->ndying; i++)
        ((AsyGenerator *)L->dying[i])->finalizer = 0;
    L->nagens = L->ndying = 0;
}

bool asy_agen_shutdown(AsyVM *vm) {
    AsyLoop *L = loop_of(vm);
    if (L->nagens == 0 && L->ndying == 0) return true;
    AsyList *agens = take_registered(vm);
    if (agens && agens->len == 0) return true; /* all closed already */
    AsyList *tasks = agens ? asy_list_new(vm, agens->len) : NULL;
    if (!tasks) {
        asy_exc_clear(vm); /* MemoryError: they stay unclosed */
        return true;
    }
    asy_root_push(vm, ASY_OBJ(agens));
    asy_root_push(vm, ASY_OBJ(tasks));
    for (int64_t i = 0; i < agens->len; i++) {
        AsyValue op = asy_agen_aclose(vm, (AsyGenerator *)ASY_AS_OBJ(agens->items[i]));
        AsyTask *t = ASY_IS_ERR(op) ? NULL : asy_task_new(vm, op, ASY_UNDEF);
        tasks->items[i] = t ? ASY_OBJ(t) : ASY_NONE;
        tasks->len++;
        if (!t) asy_exc_clear(vm);
    }
    bool ok = true;
    AsyValue g = asy_gather(vm, (int)tasks->len, tasks->items, true);
    if (ASY_IS_ERR(g)) {
        asy_exc_clear(vm);
    } else {
        asy_root_push(vm, g);
        ok = asy_loop_run_until_done(vm, (AsyFuture *)ASY_AS_OBJ(g));
        if (ok) report_close_errors(vm, agens, (AsyFuture *)ASY_AS_OBJ(g));
        asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 2);
    forget_registered(L);
    return ok;
}

static const char runner_src[] = "async def aclose(op):\n"
                                 "    return await op\n";

AsyValue asy_agen_op_runner(AsyVM *vm, AsyValue op) {
    AsyLoop *L = loop_of(vm);
    if (!L->agen_runner) {
        AsyValue fn = asy_vm_define(vm, runner_src, sizeof runner_src - 1, "<asyncgen>", "aclose");
        if (ASY_IS_ERR(fn)) return ASY_ERR;
        ((AsyFunction *)ASY_AS_OBJ(fn))->code->cflags |= ASY_CODE_HIDDEN;
        L->agen_runner = ASY_AS_OBJ(fn);
    }
    return asy_call(vm, ASY_OBJ(L->agen_runner), 1, &op, NULL);
}

/* loop.shutdown_asyncgens(), for a script that runs its loop itself: CPython's coroutine,
 * over the generators registered so far. */
static const char shutdown_src[] =
    "async def shutdown_asyncgens(agens, report):\n"
    "    if not agens:\n"
    "        return\n"
    "    from asyncio import gather\n"
    "    results = await gather(*[ag.aclose() for ag in agens], return_exceptions=True)\n"
    "    for result, agen in zip(results, agens):\n"
    "        if isinstance(result, Exception):\n"
    "            report(agen, result)\n";

static AsyValue report_native(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "report", argc, 2, 2)) return ASY_ERR;
    report_close_error(vm, argv[0], argv[1]);
    return ASY_NONE;
}

static const AsyMethodDef report_def = {"report", report_native, 0, "Report a closing error."};

AsyValue asy_agen_shutdown_coro(AsyVM *vm) {
    AsyList *agens = take_registered(vm);
    if (!agens) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(agens));
    AsyValue args[2] = {ASY_OBJ(agens), asy_native_new(vm, &report_def, ASY_UNDEF, NULL)};
    AsyValue r = args[1];
    if (!ASY_IS_ERR(r)) {
        asy_root_push(vm, args[1]);
        AsyValue fn = asy_vm_define(vm, shutdown_src, sizeof shutdown_src - 1, "<asyncgen>",
                                    "shutdown_asyncgens");
        r = ASY_IS_ERR(fn) ? fn : asy_call(vm, fn, 2, args, NULL);
        asy_root_pop(vm, 1);
    }
    asy_root_pop(vm, 1);
    return r;
}
