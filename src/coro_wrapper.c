/* coro_wrapper.c - coroutine.__await__() and the iterator it returns.
 *
 * A class's generator-based `__await__` often delegates to a coroutine:
 * `return self._run().__await__()` or `x = yield from coro.__await__()`. CPython's
 * coroutine_wrapper is an iterator whose send/throw/close are the coroutine's. asy's VM
 * unwraps it wherever it would step it (an await of what __await__ returned, YIELD_FROM),
 * so the coroutine runs in place as any awaited coroutine does; the wrapper's own methods
 * serve code that steps it by hand.
 */
#include "common.h"

#include "generator.h"
#include "task.h"
#include "vm_internal.h" /* asy_vm_await_slot */

typedef struct {
    AsyObj hdr;
    AsyObj *aw;       /* the coroutine, or a native awaitable (a future, asyncio.sleep()'s) */
    bool started;     /* a native awaitable was stepped once: later steps send a value     */
} AsyCoroWrapper;

static AsyCoroWrapper *wrapper_of(AsyValue self) { return (AsyCoroWrapper *)ASY_AS_OBJ(self); }

static bool is_wrapper(AsyVM *vm, AsyValue v) {
    if (!ASY_IS_OBJ(v)) return false;
    AsyType *t = ASY_AS_OBJ(v)->type;
    return t == ASY_TYPE(vm, coroutine_wrapper) || t == ASY_TYPE(vm, FutureIter);
}

AsyValue asy_coro_unwrap(AsyVM *vm, AsyValue v) {
    return is_wrapper(vm, v) ? ASY_OBJ(wrapper_of(v)->aw) : v;
}

bool asy_coro_wrapper_steps(AsyVM *vm, AsyValue v) {
    return is_wrapper(vm, v) && !asy_is_coroutine(vm, ASY_OBJ(wrapper_of(v)->aw));
}

/* One step of a native awaitable, as CPython's FutureIter: what it hands out is yielded,
 * its result ends the iteration (StopIteration(result)). */
static AsyValue step_native(AsyVM *vm, AsyCoroWrapper *w, AsyValue sent) {
    AsyValue aw = ASY_OBJ(w->aw), res = ASY_UNDEF;
    AsyAwaitFn slot = asy_vm_await_slot(w->aw->type);
    int r = slot(vm, aw, w->started ? sent : ASY_UNDEF, ASY_AWAIT_STEPPED, &res);
    w->started = true;
    if (r == ASY_AWAIT_ERROR) return ASY_ERR;
    if (r == ASY_AWAIT_SUSPEND) return ASY_IS_UNDEF(res) ? aw : res;
    return asy_raise_stop_iteration(vm, res);
}

/* The awaitable's own method `name` (a coroutine's) called with argv[1..argc). */
static AsyValue delegate(AsyVM *vm, const char *name, int argc, AsyValue *argv) {
    AsyValue aw = ASY_OBJ(wrapper_of(argv[0])->aw);
    return asy_call_method(vm, aw, asy_str_intern_cstr(vm, name), argc - 1, argv + 1);
}

static AsyValue cw_send(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_coro_wrapper_steps(vm, argv[0])) return delegate(vm, "send", argc, argv);
    if (!asy_check_args(vm, "send", argc - 1, 1, 1)) return ASY_ERR;
    return step_native(vm, wrapper_of(argv[0]), argv[1]);
}

static AsyValue cw_next_method(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__next__", argc - 1, 0, 0)) return ASY_ERR;
    AsyValue args[2] = {argv[0], ASY_NONE};
    return cw_send(vm, 2, args, NULL);
}

/* A native awaitable lets go of what it handed out, then the exception is raised here
 * (CPython's FutureIter.throw); close() just lets go. */
static AsyValue native_abandon(AsyVM *vm, AsyCoroWrapper *w) {
    if (!w->started) return ASY_NONE;
    AsyValue res = ASY_UNDEF;
    int r = asy_vm_await_slot(w->aw->type)(vm, ASY_OBJ(w->aw), ASY_UNDEF, ASY_AWAIT_ABANDONED,
                                           &res);
    return r == ASY_AWAIT_ERROR ? ASY_ERR : ASY_NONE;
}

static AsyValue cw_throw(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_coro_wrapper_steps(vm, argv[0])) return delegate(vm, "throw", argc, argv);
    if (!asy_check_args(vm, "throw", argc - 1, 1, 3)) return ASY_ERR;
    if (ASY_IS_ERR(native_abandon(vm, wrapper_of(argv[0])))) return ASY_ERR;
    AsyValue exc = argv[1];
    if (argc > 2 && !ASY_IS_NONE(argv[2])) {
        asy_root_push(vm, exc);
        exc = asy_call(vm, exc, 1, &argv[2], NULL);
        asy_root_pop(vm, 1);
        if (ASY_IS_ERR(exc)) return ASY_ERR;
    }
    return asy_raise_value(vm, exc);
}

static AsyValue cw_close(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_coro_wrapper_steps(vm, argv[0])) return delegate(vm, "close", argc, argv);
    if (!asy_check_args(vm, "close", argc - 1, 0, 0)) return ASY_ERR;
    return native_abandon(vm, wrapper_of(argv[0]));
}

/* The next slot (for loops, next()): exhaustion is UNDEF, as for every iterator. */
static AsyValue cw_next(AsyVM *vm, AsyValue self) {
    AsyValue args[2] = {self, ASY_NONE};
    AsyValue r = cw_send(vm, 2, args, NULL);
    if (ASY_IS_ERR(r) && asy_exc_matches(vm, ASY_EXC_StopIteration)) {
        asy_exc_clear(vm);
        return ASY_UNDEF;
    }
    return r;
}

static AsyValue cw_iter(AsyVM *vm, AsyValue self) {
    ASY_UNUSED(vm);
    return self;
}

static void cw_traverse(AsyVM *vm, AsyObj *o) {
    asy_gc_mark_obj(vm, ((AsyCoroWrapper *)o)->aw);
}

static const AsyMethodDef cw_methods[] = {
    {"send", cw_send, ASY_METH_NOKW, "send(arg) -> send 'arg' into coroutine"},
    {"throw", cw_throw, ASY_METH_NOKW, "throw(value) -> raise exception in coroutine"},
    {"close", cw_close, ASY_METH_NOKW, "close() -> raise GeneratorExit inside coroutine."},
    {"__next__", cw_next_method, ASY_METH_NOKW | ASY_METH_SLOT, "Implement next(self)."},
    {NULL, NULL, 0, NULL},
};

AsyValue asy_coro_await_method(AsyVM *vm, int argc, AsyValue *argv, AsyDict *kw) {
    ASY_UNUSED(kw);
    if (!asy_check_args(vm, "__await__", argc - 1, 0, 0)) return ASY_ERR;
    /* a coroutine or asyncio.sleep()'s is a coroutine to the user; a future is not */
    bool coro = asy_is_coroutine(vm, argv[0]) || !asy_is_future(vm, argv[0]);
    AsyCoroWrapper *w =
        asy_gc_alloc(vm, coro ? ASY_TYPE(vm, coroutine_wrapper) : ASY_TYPE(vm, FutureIter),
                     sizeof *w);
    if (!w) return ASY_ERR;
    w->aw = ASY_AS_OBJ(argv[0]);
    w->started = false;
    return ASY_OBJ(w);
}

AsyValue asy_await_iter(AsyVM *vm, AsyValue self) {
    return asy_coro_await_method(vm, 1, &self, NULL);
}

static AsyType *wrapper_type(AsyVM *vm, const char *name) {
    AsyType *t = asy_type_new_builtin(vm, name, ASY_TYPE(vm, object), sizeof(AsyCoroWrapper));
    t->tflags &= ~ASY_TYPE_BASETYPE;
    t->iter = cw_iter;
    t->next = cw_next;
    t->traverse = cw_traverse;
    asy_type_add_methods(vm, t, cw_methods);
    asy_type_ready(vm, t);
    return t;
}

void asy_coro_wrapper_init(AsyVM *vm) {
    vm->types[ASY_TYPE_coroutine_wrapper] = wrapper_type(vm, "coroutine_wrapper");
    AsyType *fi = vm->types[ASY_TYPE_FutureIter] = wrapper_type(vm, "FutureIter");
    fi->module = asy_str_intern_cstr(vm, "_asyncio");
    asy_type_set_tp_name(vm, fi, "_asyncio.FutureIter");
}
