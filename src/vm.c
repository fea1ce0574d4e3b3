/* vm.c - the dispatch loop: every opcode of opcodes.h, exception unwinding, generators
 * and awaits moved onto the running fiber, and the entry points that run code (asy_call,
 * asy_vm_run_code, tasks: asy_fiber_resume). Call setup and argument binding are in
 * vm_call.c, the slow paths of single opcodes in vm_ops.c.
 *
 * Calls between asy functions never recurse in C: a call pushes a frame on the fiber and
 * the same loop continues in it; a return pops it. Exceptions unwind the fiber's frames
 * (handler blocks, then callers), never the C stack. The loop only returns to C when the
 * frame it started with (ASY_FRAME_BOUNDARY) finishes, when a generator run from C
 * yields, or when a task suspends (fiber.h explains suspension).
 *
 * The loop caches raw pointers into the fiber's stack (sp, locals); anything that may run
 * asy code can grow (move) the stack, so such calls are bracketed by SYNC() (publish pc
 * and sp: the GC and nested loops need them) and RESYNC() (reload the pointers). */
#include <string.h>

#include "vm_internal.h"

typedef enum { RUN_RETURN, RUN_YIELD, RUN_ERROR, RUN_SUSPEND } RunStatus;

static RunStatus vm_run(AsyVM *vm, AsyFiber *fiber, bool can_suspend, AsyValue throw_exc,
                        AsyValue *out);

/* The LOAD_NAME namespace of a frame, NULL for function frames (fiber.h). */
#define FRAME_NS(fr) (((fr)->flags & (ASY_FRAME_CLASS | ASY_FRAME_MODULE)) ? (fr)->ns : NULL)

/* __context__ as CPython's _PyErr_SetObject sets it: the exception being handled, with
 * any cycle through the new exception cut. */
static void set_context(AsyException *exc, AsyValue handled) {
    if (!ASY_IS_OBJ(handled)) return;
    AsyException *h = (AsyException *)ASY_AS_OBJ(handled);
    if (h == exc) return;
    AsyException *o = h;
    for (int steps = 0; ASY_IS_OBJ(o->context) && steps < 100000; steps++) {
        AsyException *c = (AsyException *)ASY_AS_OBJ(o->context);
        if (c == exc) {
            o->context = ASY_NONE;
            break;
        }
        o = c;
    }
    exc->context = handled;
}

/* A call made v, and the next instruction is a loop's GET_ITER/GET_AITER of arg 1 (its
 * iterable is this call, compiler.c): when the callable was a generator function, whose
 * call runs no code and keeps nothing, v is the new generator and only the loop will
 * refer to it (AsyGenerator.owned). */
static inline void own_loop_gen(AsyVM *vm, const uint32_t *ip, AsyValue callable, AsyValue v) {
    uint32_t next = *ip;
    if (ASY_LIKELY(ASY_ARG(next) != 1) ||
        (ASY_OP(next) != ASY_OP_GET_ITER && ASY_OP(next) != ASY_OP_GET_AITER) ||
        !asy_is_gen(vm, v))
        return;
    if (asy_is_bound_method(vm, callable)) callable = ((AsyBoundMethod *)ASY_AS_OBJ(callable))->func;
    AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(v);
    if (asy_is_function(vm, callable) && g->frame.func == (AsyFunction *)ASY_AS_OBJ(callable) &&
        g->state == ASY_GEN_CREATED) {
        g->owned = 1;
        vm->owned_gens = true;
    }
}

/* Values in stack[lo, hi) are being dropped by an exception's unwinding: generators a loop
 * owned are finalized (asy_gen_drop_owned), with the exception kept pending. The stack
 * may move meanwhile; fiber->sp must be at least hi. */
static void drop_owned_slots(AsyVM *vm, AsyFiber *fiber, int32_t lo, int32_t hi) {
    for (int32_t i = lo; i < hi; i++) {
        AsyValue x = fiber->stack[i];
        if (!ASY_IS_OBJ(x) || !asy_is_gen(vm, x) || !((AsyGenerator *)ASY_AS_OBJ(x))->owned)
            continue;
        fiber->stack[i] = ASY_NONE; /* dropped now, as CPython pops it */
        asy_root_push(vm, x);
        asy_gen_drop_owned(vm, (AsyGenerator *)ASY_AS_OBJ(x));
        asy_root_pop(vm, 1);
    }
}

static AsyStr *cell_name(AsyCode *co, int32_t i) {
    return i < co->ncells ? co->cellnames[i] : co->freenames[i - co->ncells];
}

static AsyValue raise_unbound_deref(AsyVM *vm, AsyCode *co, int32_t i) {
    if (i < co->ncells)
        return asy_raise(vm, ASY_EXC_UnboundLocalError,
                         "cannot access local variable '%U' where it is not associated with a "
                         "value", cell_name(co, i));
    return asy_raise(vm, ASY_EXC_NameError,
                     "cannot access free variable '%U' where it is not associated with a value "
                     "in enclosing scope", cell_name(co, i));
}

static AsyValue raise_unbound_local(AsyVM *vm, AsyCode *co, int32_t i) {
    return asy_raise(vm, ASY_EXC_UnboundLocalError,
                     "cannot access local variable '%U' where it is not associated with a value",
                     co->varnames[i]);
}

/* An exception with no arguments, as `raise StopAsyncIteration` makes. */
static void raise_empty(AsyVM *vm, AsyExcId id) {
    AsyValue e = asy_exc_new(vm, vm->exc_types[id], 0, NULL);
    if (!ASY_IS_ERR(e)) vm->exc = (AsyException *)ASY_AS_OBJ(e);
}

/* ---- generators and awaits on the fiber ---- */

static bool gen_can_start(AsyVM *vm, AsyGenerator *g) {
    if (g->state == ASY_GEN_RUNNING) {
        asy_gen_check_resumable(vm, g);
        return false;
    }
    return true;
}

/* A coroutine stopped at an await of its own (stepped by hand with send()) is delegating:
 * awaiting it is CPython's "being awaited already" (its _PyGen_yf check). */
static bool coro_can_await(AsyVM *vm, AsyGenerator *g) {
    if (g->kind != ASY_GENKIND_COROUTINE || g->state != ASY_GEN_SUSPENDED) return true;
    AsyOpcode op = ASY_OP(g->frame.code->code[g->frame.pc]);
    if (op != ASY_OP_AWAIT && op != ASY_OP_YIELD_FROM) return true;
    asy_raise(vm, ASY_EXC_RuntimeError, "coroutine is being awaited already");
    return false;
}

/* The name cache of a code object (fiber.h), made on first use; NULL (no caching) when
 * memory is short. */
static AsyGlobalCache *global_cache(AsyVM *vm, AsyCode *co) {
    size_t bytes = sizeof(AsyGlobalCache) * asy_code_cache_len(co);
    AsyGlobalCache *c = asy_mem_alloc(vm, bytes);
    if (!c) {
        asy_exc_clear(vm);
        return NULL;
    }
    memset(c, 0, bytes);
    co->gcache = c;
    return c;
}

/* Attribute `names[arg]` of a module, found in its dict (UNDEF: not there, so the type,
 * then __getattr__ decide), through the code's cache: a module's dict changes rarely, so
 * `asyncio.sleep` in a loop costs one version check instead of a lookup. */
static inline AsyValue module_attr(AsyVM *vm, AsyCode *co, int32_t arg, AsyValue mod) {
    AsyDict *d = ((AsyModule *)ASY_AS_OBJ(mod))->dict;
    AsyGlobalCache *ce = co->gcache ? &co->gcache[co->nnames + arg] : NULL;
    if (ASY_LIKELY(ce && ce->globals == d && ce->globals_version == d->version)) return ce->value;
    AsyValue v = asy_dict_get_str(vm, d, co->names[arg]);
    if (ASY_IS_UNDEF(v) || ASY_IS_NONE(v)) return ASY_UNDEF; /* None may be a __doc__ to make */
    if (!ce && (ce = global_cache(vm, co))) ce += co->nnames + arg;
    if (ce) {
        ce->globals = d;
        ce->globals_version = d->version;
        ce->value = v;
    }
    return v;
}

/* ---- the dispatch loop ---- */

/* Quickening: the first time a BINARY_OP for + - * % // (or their in-place forms) runs,
 * it is rewritten in place into one of these VM-internal opcodes (numbered after the
 * public ones; the argument is kept). Each has its own small-int fast path and its own
 * dispatch jump, which the branch predictor learns per operator; anything else falls
 * back to asy_binop exactly as BINARY_OP does. debug.c prints them as "?". */
enum {
    OP_BINARY_ADD = ASY_OPCODE_COUNT,
    OP_BINARY_SUB,
    OP_BINARY_MUL,
    OP_BINARY_MOD,
    OP_BINARY_FLOORDIV,
    /* LOAD_FAST followed by LOAD_FAST or LOAD_CONST: both loads in one dispatch. The
     * second instruction stays as it was, so a jump to it still works. */
    OP_LOAD_FAST_LOAD_FAST,
    OP_LOAD_FAST_LOAD_CONST,
    /* LOAD_FAST whose next instruction is neither of those: no second look at it. */
    OP_LOAD_FAST_PLAIN,
    /* LOAD_FAST followed by RETURN_VALUE (`return n`): the return without the push. */
    OP_RETURN_FAST,
    /* OP_LOAD_FAST_LOAD_CONST once it has seen its int constant followed by a quickened
     * + or -, or by COMPARE_OP and a conditional jump (JT: POP_JUMP_IF_TRUE, JF: ..FALSE):
     * the constant and the following instructions never change, so only the local's type
     * is tested when it runs. */
    OP_LFLC_ADD,
    OP_LFLC_SUB,
    OP_LFLC_MUL,
    OP_LFLC_MOD,      /* only for a constant other than 0 and -1 */
    OP_LFLC_FLOORDIV, /* likewise */
    OP_LFLC_CMP_JT,
    OP_LFLC_CMP_JF,
    /* LOAD_CONST: first run, an int constant followed by a BINARY_OP becomes LC_PEND,
     * anything else LOAD_CONST_PLAIN (no second look). LC_PEND, once the BINARY_OP after
     * it has been quickened to + - * % //, specialises to LC_<op>: `... % 7` with the left
     * operand on the stack, in one dispatch; a left operand that is not an int pushes the
     * constant and lets the BINARY_OP (unchanged, so jumps to it still work) run. */
    OP_LOAD_CONST_PLAIN,
    OP_LC_PEND,
    OP_LC_ADD,
    OP_LC_SUB,
    OP_LC_MUL,
    OP_LC_MOD,      /* only for a constant other than 0 and -1 */
    OP_LC_FLOORDIV, /* likewise */
    /* A BINARY_OP quickened to + - * % // whose next instruction is STORE_FAST
     * (`total += x`, `y = a * b`): an int result goes straight to the local, in the same
     * dispatch. The STORE_FAST stays, for a jump to it and for every other result. */
    OP_BINARY_ADD_ST,
    OP_BINARY_SUB_ST,
    OP_BINARY_MUL_ST,
    OP_BINARY_MOD_ST,
    OP_BINARY_FLOORDIV_ST,
    /* LOAD_FAST: first run, followed by a BINARY_OP becomes LF_PEND, which, once that
     * BINARY_OP is quickened to + - * % //, specialises to LF_<op>: `i * i`, `f() + n`
     * with the left operand on the stack and the right one this local, in one dispatch;
     * anything but two ints (or a result that does not fit, or % and // by 0 or -1)
     * pushes the local and lets the BINARY_OP, left as it was, run. */
    OP_LF_PEND,
    OP_LF_ADD,
    OP_LF_SUB,
    OP_LF_MUL,
    OP_LF_MOD,
    OP_LF_FLOORDIV,
    /* FOR_ITER once it has stepped a range iterator for a STORE_FAST (`for i in
     * range(n):`): the next int stored in the local in one dispatch, after one test of
     * the iterator's type; another iterator takes FOR_ITER's path. */
    OP_FOR_RANGE_ST,
    OP_COUNT_ALL
};
_Static_assert(OP_BINARY_FLOORDIV - OP_BINARY_ADD == 4 && OP_LFLC_FLOORDIV - OP_LFLC_ADD == 4 &&
                   OP_LC_FLOORDIV - OP_LC_ADD == 4 &&
                   OP_BINARY_FLOORDIV_ST - OP_BINARY_ADD_ST == 4 && OP_LF_FLOORDIV - OP_LF_ADD == 4,
               "each family of quickened int opcodes is ADD SUB MUL MOD FLOORDIV in a row");

/* The five small-int operations that have quickened and fused forms, in the order of
 * each family of those opcodes (OP_BINARY_<op>, OP_LFLC_<op>, OP_LC_<op>, ...). */
enum { IOP_ADD, IOP_SUB, IOP_MUL, IOP_MOD, IOP_FLOORDIV };

/* The IOP_ of a quickened BINARY_<op> or BINARY_<op>_ST, or -1 for another opcode. */
static inline int quick_op_index(int nop) {
    if (nop >= OP_BINARY_ADD && nop <= OP_BINARY_FLOORDIV) return nop - OP_BINARY_ADD;
    if (nop >= OP_BINARY_ADD_ST && nop <= OP_BINARY_FLOORDIV_ST) return nop - OP_BINARY_ADD_ST;
    return -1;
}

/* The fused form of an int constant b and the quickened BINARY_<op> nop that follows it:
 * `first` (the family's ADD form) plus the op's place, or -1 for another nop, or for % and
 * // by 0 or -1 (their errors and overflow are the generic path's). */
static inline int quick_const_form(int nop, int64_t b, int first) {
    int k = quick_op_index(nop);
    if (k < 0 || (k >= IOP_MOD && (b == 0 || b == -1))) return -1;
    return first + k;
}

/* Stack slots and locals are written and read as two 8-byte words (tag, payload) by the
 * hot paths (vset, vget, vcopy). A plain struct copy compiles to a 16-byte load, which
 * cannot be forwarded from the two 8-byte stores a `*sp = ASY_INT(n)` makes and stalls
 * for a dozen cycles; that stall dominated the loop benchmark. Word-sized accesses
 * always forward, and need no moves between general and vector registers. */
typedef uint64_t __attribute__((may_alias)) VmWord;
static inline void vset(AsyValue *p, AsyValue v) {
    VmWord *w = (VmWord *)(void *)p;
    w[0] = (uint64_t)v.tag;
    w[1] = (uint64_t)v.as.i;
}
static inline AsyValue vget(const AsyValue *p) {
    const VmWord *w = (const VmWord *)(const void *)p;
    AsyValue v;
    v.tag = (AsyTag)(uint32_t)w[0];
    v.as.i = (int64_t)w[1];
    return v;
}
static inline void vcopy(AsyValue *d, const AsyValue *s) {
    const VmWord *a = (const VmWord *)(const void *)s;
    VmWord *b = (VmWord *)(void *)d;
    uint64_t t0 = a[0], t1 = a[1];
    b[0] = t0;
    b[1] = t1;
}
#define PUSH(x)                                                                           \
    do {                                                                                  \
        vset(sp, (x));                                                                    \
        sp++;                                                                             \
    } while (0)

#if ASY_GC_STRESS
#define GC_DUE() (vm->gc_pending || vm->signal_pending)
#else
#define GC_DUE() (vm->bytes_allocated > vm->next_gc || vm->signal_pending)
#endif

#define SYNC() (frame->pc = (int32_t)(ip - code_base), fiber->sp = (int32_t)(sp - fiber->stack))
#define RESYNC()                                                                          \
    do {                                                                                  \
        frame = &fiber->frames[fiber->nframes - 1];                                       \
        sp = fiber->stack + fiber->sp;                                                    \
        locals = fiber->stack + frame->base;                                              \
    } while (0)
#define LOAD_FRAME()                                                                      \
    do {                                                                                  \
        frame = &fiber->frames[fiber->nframes - 1];                                       \
        co = frame->code;                                                                 \
        code_base = co->code;                                                             \
        ip = code_base + frame->pc;                                                       \
        consts = co->consts;                                                              \
        locals = fiber->stack + frame->base;                                              \
        sp = fiber->stack + fiber->sp;                                                    \
    } while (0)
#define SAFEPOINT()                                                                       \
    do {                                                                                  \
        if (ASY_UNLIKELY(GC_DUE())) {                                                     \
            SYNC();                                                                       \
            if (asy_vm_safepoint(vm) < 0) goto error;                                     \
        }                                                                                 \
    } while (0)
#define CHECK(v)                                                                          \
    do {                                                                                  \
        if (ASY_UNLIKELY(ASY_IS_ERR(v))) goto error;                                      \
    } while (0)
#define ARG ASY_ARG(ins)

/* QTARGET: a VM-internal (quickened) opcode's handler. */
#if ASY_COMPUTED_GOTO
#define QTARGET(op) L_##op:
#else
#define QTARGET(op) case OP_##op:
#endif
#if ASY_COMPUTED_GOTO
#define TARGET(op) L_##op:
#define DISPATCH()                                                                        \
    do {                                                                                  \
        ins = *ip++;                                                                      \
        goto *labels[ASY_OP(ins)];                                                        \
    } while (0)
#else
#define TARGET(op) case ASY_OP_##op:
#define DISPATCH() goto dispatch
#endif

/* Which outcomes of comparing x with y (bit 0: less, 1: equal, 2: greater) make each
 * AsyCmpOp true: a comparison is then a table load and a shift, with no branch on op. */
static const uint8_t cmp_outcomes[6] = {
    [ASY_CMP_LT] = 1, [ASY_CMP_LE] = 3, [ASY_CMP_EQ] = 2,
    [ASY_CMP_NE] = 5, [ASY_CMP_GT] = 4, [ASY_CMP_GE] = 6,
};

/* The outcome bit of x against y, for a mask of cmp_outcomes. */
static inline unsigned int_outcome(int64_t x, int64_t y) {
    return (unsigned)((x > y) - (x < y) + 1);
}

static inline bool int_compare(int64_t x, int64_t y, int op) {
    return (cmp_outcomes[op] >> int_outcome(x, y)) & 1;
}

/* *r = x OP y with Python's rounding (a remainder takes the divisor's sign, a quotient
 * rounds down); true when the result does not fit and the generic path must run. MOD and
 * FLOORDIV need a y other than 0 and -1 (the caller tests it, or knows it of a constant).
 * `op` is a constant at every call, so the switch folds away. */
static ASY_ALWAYS_INLINE bool int_op_fails(int op, int64_t x, int64_t y, int64_t *r) {
    switch (op) {
    case IOP_ADD: return __builtin_add_overflow(x, y, r);
    case IOP_SUB: return __builtin_sub_overflow(x, y, r);
    case IOP_MUL: return __builtin_mul_overflow(x, y, r);
    case IOP_MOD:
        *r = x % y;
        if (*r != 0 && (*r ^ y) < 0) *r += y;
        return false;
    default:
        *r = x / y;
        if (x % y != 0 && (x ^ y) < 0) --*r;
        return false;
    }
}

/* The common call of a built-in (len(x), lst.append(x), d.get(k, 0)) without
 * asy_vm_call_setup's dispatch: the callable is a native function, or an unbound native
 * method whose receiver (args[0]) has exactly the owner type, with positional arguments
 * only. They are copied off the stack first: the native may run asy code, which can grow
 * (move) the stack. Returns false, having done nothing, for any other call. */
#define NATIVE_FAST_ARGS 6
static inline bool call_native_fast(AsyVM *vm, AsyValue callable, const AsyValue *args,
                                    int argc, AsyValue *out) {
    if (!asy_is_native(vm, callable) || argc > NATIVE_FAST_ARGS) return false;
    AsyNative *n = (AsyNative *)ASY_AS_OBJ(callable);
    if (!ASY_IS_UNDEF(n->self)) return false;
    if (n->owner && ((n->def->flags & (ASY_METH_STATIC | ASY_METH_CLASS)) || argc == 0 ||
                     type_of(vm, args[0]) != n->owner))
        return false;
    AsyValue copy[NATIVE_FAST_ARGS];
    for (int i = 0; i < argc; i++) copy[i] = args[i];
    *out = n->def->fn(vm, argc, copy, NULL);
    return true;
}

static RunStatus vm_run(AsyVM *vm, AsyFiber *fiber, bool can_suspend, AsyValue throw_exc,
                        AsyValue *out) {
#if ASY_COMPUTED_GOTO
    static const void *const labels[256] = {
#define ASY_X_LABEL(name, doc) &&L_##name,
        ASY_OPCODES(ASY_X_LABEL)
#undef ASY_X_LABEL
        [OP_BINARY_ADD] = &&L_BINARY_ADD,
        [OP_BINARY_SUB] = &&L_BINARY_SUB,
        [OP_BINARY_MUL] = &&L_BINARY_MUL,
        [OP_BINARY_MOD] = &&L_BINARY_MOD,
        [OP_BINARY_FLOORDIV] = &&L_BINARY_FLOORDIV,
        [OP_LOAD_FAST_LOAD_FAST] = &&L_LOAD_FAST_LOAD_FAST,
        [OP_LOAD_FAST_LOAD_CONST] = &&L_LOAD_FAST_LOAD_CONST,
        [OP_LOAD_FAST_PLAIN] = &&L_LOAD_FAST_PLAIN,
        [OP_RETURN_FAST] = &&L_RETURN_FAST,
        [OP_LFLC_ADD] = &&L_LFLC_ADD,
        [OP_LFLC_SUB] = &&L_LFLC_SUB,
        [OP_LFLC_MUL] = &&L_LFLC_MUL,
        [OP_LFLC_MOD] = &&L_LFLC_MOD,
        [OP_LFLC_FLOORDIV] = &&L_LFLC_FLOORDIV,
        [OP_LFLC_CMP_JT] = &&L_LFLC_CMP_JT,
        [OP_LFLC_CMP_JF] = &&L_LFLC_CMP_JF,
        [OP_LOAD_CONST_PLAIN] = &&L_LOAD_CONST_PLAIN,
        [OP_LC_PEND] = &&L_LC_PEND,
        [OP_LC_ADD] = &&L_LC_ADD,
        [OP_LC_SUB] = &&L_LC_SUB,
        [OP_LC_MUL] = &&L_LC_MUL,
        [OP_LC_MOD] = &&L_LC_MOD,
        [OP_LC_FLOORDIV] = &&L_LC_FLOORDIV,
        [OP_BINARY_ADD_ST] = &&L_BINARY_ADD_ST,
        [OP_BINARY_SUB_ST] = &&L_BINARY_SUB_ST,
        [OP_BINARY_MUL_ST] = &&L_BINARY_MUL_ST,
        [OP_BINARY_MOD_ST] = &&L_BINARY_MOD_ST,
        [OP_BINARY_FLOORDIV_ST] = &&L_BINARY_FLOORDIV_ST,
        [OP_LF_PEND] = &&L_LF_PEND,
        [OP_LF_ADD] = &&L_LF_ADD,
        [OP_LF_SUB] = &&L_LF_SUB,
        [OP_LF_MUL] = &&L_LF_MUL,
        [OP_LF_MOD] = &&L_LF_MOD,
        [OP_LF_FLOORDIV] = &&L_LF_FLOORDIV,
        [OP_FOR_RANGE_ST] = &&L_FOR_RANGE_ST,
        [OP_COUNT_ALL ... 255] = &&L_BAD_OPCODE,
    };
#endif
    AsyFrame *frame;
    AsyCode *co;
    const uint32_t *code_base, *ip;
    AsyValue *consts, *locals, *sp;
    uint32_t ins = 0;
    AsyValue v;         /* scratch shared by the slow paths below */
    bool yprop = false; /* see do_yield */
    AsyValue await_sent = ASY_UNDEF;

    fiber->nested++;
    LOAD_FRAME();
    if (!ASY_IS_UNDEF(throw_exc)) {
        vm->exc = (AsyException *)ASY_AS_OBJ(throw_exc);
        /* Raise at the suspension point: an AWAIT or YIELD_FROM that will re-execute is
         * the instruction at pc, a finished YIELD_VALUE the one before it. In a frame not
         * started yet (a fresh generator thrown into, a safepoint at a call's entry) it is
         * "before the first instruction", which the traceback shows as the def line, as
         * CPython shows its RESUME. */
        if (frame->pc == 0)
            ip = code_base;
        else if (ASY_OP(code_base[frame->pc]) != ASY_OP_AWAIT &&
                 ASY_OP(code_base[frame->pc]) != ASY_OP_YIELD_FROM)
            ip = code_base + frame->pc;
        else
            ip = code_base + frame->pc + 1;
        goto error;
    }

#if ASY_COMPUTED_GOTO
    DISPATCH();
#else
dispatch:
    ins = *ip++;
    switch ((int)ASY_OP(ins)) {
#endif

    TARGET(NOP) { DISPATCH(); }

    TARGET(POP_ITER) {
        v = *--sp;
        if (ASY_IS_OBJ(v) && asy_is_gen(vm, v) && ((AsyGenerator *)ASY_AS_OBJ(v))->owned) {
            SYNC();
            asy_root_push(vm, v);
            asy_gen_drop_owned(vm, (AsyGenerator *)ASY_AS_OBJ(v));
            asy_root_pop(vm, 1);
            RESYNC();
        }
        DISPATCH();
    }

    TARGET(POP_TOP) {
        sp--;
        /* arg 1: an expression statement's value, which may be a coroutine never awaited */
        if (ASY_UNLIKELY(ARG) && ASY_IS_OBJ(*sp)) {
            SYNC();
            asy_unawaited_dropped(vm, *sp);
            asy_task_dropped(vm, *sp);
        }
        DISPATCH();
    }

    TARGET(COPY) {
        sp[0] = sp[-ARG];
        sp++;
        DISPATCH();
    }

    TARGET(SWAP) {
        AsyValue t = sp[-1];
        vset(sp - 1, sp[-ARG]);
        vset(sp - ARG, t);
        DISPATCH();
    }

    TARGET(LOAD_CONST) {
        bool pend = ASY_IS_INT(consts[ARG]) && ASY_OP(*ip) == ASY_OP_BINARY_OP;
        ((uint32_t *)ip)[-1] = ASY_INS(pend ? OP_LC_PEND : OP_LOAD_CONST_PLAIN, ARG);
        goto load_const_plain;
    }

    QTARGET(LOAD_CONST_PLAIN)
    load_const_plain: {
        vcopy(sp, consts + ARG);
        sp++;
        DISPATCH();
    }

    QTARGET(LC_PEND) {
        int q = quick_const_form((int)ASY_OP(*ip), ASY_AS_INT(consts[ARG]), OP_LC_ADD);
        ((uint32_t *)ip)[-1] = ASY_INS(q >= 0 ? q : OP_LOAD_CONST_PLAIN, ARG);
        goto load_const_plain;
    }

    /* r = x OP k for the value x at `xp`, if an int, and the int constant k at `kp`, unless
     * int_op_fails: r goes to `dst` (the stack grows by `grow`) and the `skip` fused
     * instructions that follow are passed over; otherwise `unfused` runs them as they are. */
#define CONST_ARITH(op, xp, kp, dst, grow, skip, unfused)                                 \
    do {                                                                                  \
        AsyValue a = vget(xp);                                                            \
        if (ASY_LIKELY(ASY_IS_INT(a))) {                                                  \
            int64_t r;                                                                    \
            if (!int_op_fails(op, ASY_AS_INT(a), ASY_AS_INT(*(kp)), &r)) {                \
                vset(dst, ASY_INT(r));                                                    \
                sp += (grow);                                                             \
                ip += (skip);                                                             \
                DISPATCH();                                                               \
            }                                                                             \
        }                                                                                 \
        goto unfused;                                                                     \
    } while (0)

    /* x on the stack, the constant this instruction loads; the BINARY_OP is skipped. */
#define LC_ARITH(op) CONST_ARITH(op, sp - 1, consts + ARG, sp - 1, 0, 1, load_const_plain)

    QTARGET(LC_ADD) { LC_ARITH(IOP_ADD); }

    QTARGET(LC_SUB) { LC_ARITH(IOP_SUB); }

    QTARGET(LC_MUL) { LC_ARITH(IOP_MUL); }

    QTARGET(LC_MOD) { LC_ARITH(IOP_MOD); }

    QTARGET(LC_FLOORDIV) { LC_ARITH(IOP_FLOORDIV); }
#undef LC_ARITH

    TARGET(LOAD_FAST) {
        AsyValue x = vget(locals + ARG);
        if (ASY_UNLIKELY(ASY_IS_UNDEF(x))) {
            raise_unbound_local(vm, co, ARG);
            goto error;
        }
        PUSH(x);
        AsyOpcode nop = ASY_OP(*ip);
        ((uint32_t *)ip)[-1] = ASY_INS(nop == ASY_OP_LOAD_FAST      ? OP_LOAD_FAST_LOAD_FAST
                                       : nop == ASY_OP_LOAD_CONST   ? OP_LOAD_FAST_LOAD_CONST
                                       : nop == ASY_OP_RETURN_VALUE ? OP_RETURN_FAST
                                       : nop == ASY_OP_BINARY_OP    ? OP_LF_PEND
                                                                    : OP_LOAD_FAST_PLAIN,
                                       ARG);
        DISPATCH();
    }

    QTARGET(LF_PEND) {
        int k = quick_op_index((int)ASY_OP(*ip));
        ((uint32_t *)ip)[-1] = ASY_INS(k >= 0 ? OP_LF_ADD + k : OP_LOAD_FAST_PLAIN, ARG);
        goto load_fast_plain;
    }

    /* x on the stack OP y this local, unless either is not an int or int_op_fails: r
     * replaces x and the BINARY_OP after this is skipped. */
#define LF_ARITH(iop)                                                                     \
    do {                                                                                  \
        AsyValue a = vget(sp - 1), b = vget(locals + ARG);                                \
        if (ASY_LIKELY(ASY_IS_INT(a) && ASY_IS_INT(b))) {                                 \
            int64_t y = ASY_AS_INT(b), r;                                                 \
            if (!(((iop) >= IOP_MOD && (y == 0 || y == -1)) ||                            \
                  int_op_fails(iop, ASY_AS_INT(a), y, &r))) {                             \
                vset(sp - 1, ASY_INT(r));                                                 \
                ip++;                                                                     \
                DISPATCH();                                                               \
            }                                                                             \
        }                                                                                 \
        goto load_fast_plain;                                                             \
    } while (0)

    QTARGET(LF_ADD) { LF_ARITH(IOP_ADD); }

    QTARGET(LF_SUB) { LF_ARITH(IOP_SUB); }

    QTARGET(LF_MUL) { LF_ARITH(IOP_MUL); }

    QTARGET(LF_MOD) { LF_ARITH(IOP_MOD); }

    QTARGET(LF_FLOORDIV) { LF_ARITH(IOP_FLOORDIV); }
#undef LF_ARITH

    QTARGET(LOAD_FAST_PLAIN)
    load_fast_plain: {
        AsyValue x = vget(locals + ARG);
        if (ASY_UNLIKELY(ASY_IS_UNDEF(x))) {
            raise_unbound_local(vm, co, ARG);
            goto error;
        }
        PUSH(x);
        DISPATCH();
    }

    QTARGET(RETURN_FAST) {
        /* A frame of another kind, or an unbound local, takes the two instructions one
         * at a time. */
        if (ASY_UNLIKELY(frame->flags != 0)) goto load_fast_plain;
        v = vget(locals + ARG);
        if (ASY_UNLIKELY(ASY_IS_UNDEF(v))) goto load_fast_plain;
        goto return_plain;
    }

    QTARGET(LOAD_FAST_LOAD_FAST) {
        AsyValue x = vget(locals + ARG), y = vget(locals + ASY_ARG(*ip));
        if (ASY_UNLIKELY(ASY_IS_UNDEF(x) || ASY_IS_UNDEF(y))) {
            if (!ASY_IS_UNDEF(x)) {
                PUSH(x);
                ins = *ip++;
            }
            raise_unbound_local(vm, co, ARG);
            goto error;
        }
        vset(sp, x);
        vset(sp + 1, y);
        sp += 2;
        ip++;
        DISPATCH();
    }

    QTARGET(LOAD_FAST_LOAD_CONST) {
        /* `n - 1`, `n < 2` with an int constant: when the instructions that follow are a
         * quickened + or -, or a comparison and a conditional jump, specialise (for good:
         * the constant and those instructions never change). */
        const AsyValue *k = consts + ASY_ARG(*ip);
        if (ASY_IS_INT(*k)) {
            uint32_t next = ip[1];
            int q = quick_const_form((int)ASY_OP(next), ASY_AS_INT(*k), OP_LFLC_ADD);
            if (ASY_OP(next) == ASY_OP_COMPARE_OP) {
                AsyOpcode jop = ASY_OP(ip[2]);
                if (jop == ASY_OP_POP_JUMP_IF_TRUE) q = OP_LFLC_CMP_JT;
                else if (jop == ASY_OP_POP_JUMP_IF_FALSE) q = OP_LFLC_CMP_JF;
            }
            if (q >= 0) ((uint32_t *)ip)[-1] = ASY_INS(q, ARG);
        }
        goto lflc_unfused;
    }

    /* `n + 1`, `i % 7`: x the local, the constant the LOAD_CONST after this loads; that
     * and the BINARY_OP are skipped. */
#define LFLC_ARITH(op)                                                                    \
    CONST_ARITH(op, locals + ARG, consts + ASY_ARG(*ip), sp, 1, 2, lflc_unfused)

    QTARGET(LFLC_ADD) { LFLC_ARITH(IOP_ADD); }

    QTARGET(LFLC_SUB) { LFLC_ARITH(IOP_SUB); }

    QTARGET(LFLC_MUL) { LFLC_ARITH(IOP_MUL); }

    QTARGET(LFLC_MOD) { LFLC_ARITH(IOP_MOD); }

    QTARGET(LFLC_FLOORDIV) { LFLC_ARITH(IOP_FLOORDIV); }
#undef LFLC_ARITH
#undef CONST_ARITH

    /* The comparison's outcome mask, inverted for POP_JUMP_IF_FALSE, says whether to jump. */
#define LFLC_CMP_JUMP(invert)                                                             \
    do {                                                                                  \
        AsyValue x = vget(locals + ARG);                                                  \
        if (ASY_UNLIKELY(!ASY_IS_INT(x))) goto lflc_unfused;                              \
        int64_t b = ASY_AS_INT(consts[ASY_ARG(*ip)]);                                     \
        unsigned mask = cmp_outcomes[ASY_ARG(ip[1])] ^ (invert);                          \
        uint32_t jump = ip[2];                                                            \
        ip += 3;                                                                          \
        if ((mask >> int_outcome(ASY_AS_INT(x), b)) & 1) {                                \
            const uint32_t *target = code_base + ASY_ARG(jump);                           \
            if (target < ip) SAFEPOINT();                                                 \
            ip = target;                                                                  \
        }                                                                                 \
        DISPATCH();                                                                       \
    } while (0)

    QTARGET(LFLC_CMP_JT) { LFLC_CMP_JUMP(0u); }

    QTARGET(LFLC_CMP_JF) { LFLC_CMP_JUMP(7u); }
#undef LFLC_CMP_JUMP

    lflc_unfused: {
        /* the two loads, one dispatch */
        AsyValue x = vget(locals + ARG);
        if (ASY_UNLIKELY(ASY_IS_UNDEF(x))) {
            raise_unbound_local(vm, co, ARG);
            goto error;
        }
        vset(sp, x);
        vcopy(sp + 1, consts + ASY_ARG(*ip));
        sp += 2;
        ip++;
        DISPATCH();
    }

    TARGET(STORE_FAST) {
        sp--;
        vcopy(locals + ARG, sp);
        DISPATCH();
    }

    TARGET(DELETE_FAST) {
        if (ASY_IS_UNDEF(locals[ARG])) {
            raise_unbound_local(vm, co, ARG);
            goto error;
        }
        v = locals[ARG];
        locals[ARG] = ASY_UNDEF;
        if (ASY_IS_OBJ(v)) {
            SYNC();
            asy_unawaited_dropped(vm, v);
        }
        DISPATCH();
    }

    TARGET(LOAD_DEREF) {
        AsyCell *c = (AsyCell *)ASY_AS_OBJ(locals[co->nlocals + ARG]);
        if (ASY_UNLIKELY(ASY_IS_UNDEF(c->value))) {
            raise_unbound_deref(vm, co, ARG);
            goto error;
        }
        PUSH(c->value);
        DISPATCH();
    }

    TARGET(STORE_DEREF) {
        ((AsyCell *)ASY_AS_OBJ(locals[co->nlocals + ARG]))->value = *--sp;
        DISPATCH();
    }

    TARGET(DELETE_DEREF) {
        AsyCell *c = (AsyCell *)ASY_AS_OBJ(locals[co->nlocals + ARG]);
        if (ASY_IS_UNDEF(c->value)) {
            raise_unbound_deref(vm, co, ARG);
            goto error;
        }
        c->value = ASY_UNDEF;
        DISPATCH();
    }

    TARGET(LOAD_CLOSURE) {
        PUSH(locals[co->nlocals + ARG]);
        DISPATCH();
    }

    TARGET(LOAD_CLASSDEREF) {
        AsyStr *name = cell_name(co, ARG);
        v = FRAME_NS(frame) ? asy_dict_get_str(vm, frame->ns, name) : ASY_UNDEF;
        if (ASY_IS_UNDEF(v)) {
            AsyCell *c = (AsyCell *)ASY_AS_OBJ(locals[co->nlocals + ARG]);
            v = c->value;
            if (ASY_IS_UNDEF(v)) {
                raise_unbound_deref(vm, co, ARG);
                goto error;
            }
        }
        PUSH(v);
        DISPATCH();
    }

    TARGET(LOAD_GLOBAL) {
        AsyGlobalCache *gce = co->gcache ? &co->gcache[ARG] : NULL;
        if (ASY_LIKELY(gce && gce->globals == frame->globals &&
                       gce->globals_version == frame->globals->version &&
                       gce->builtins_version == vm->builtins->dict->version)) {
            PUSH(gce->value);
            DISPATCH();
        }
        AsyStr *name = co->names[ARG];
        v = asy_dict_get_str(vm, frame->globals, name);
        if (ASY_IS_UNDEF(v)) {
            v = asy_dict_get_str(vm, vm->builtins->dict, name);
            if (ASY_UNLIKELY(ASY_IS_UNDEF(v))) {
                asy_raise_name_error(vm, name, frame->globals);
                goto error;
            }
        }
        if (!gce && (gce = global_cache(vm, co))) gce += ARG;
        if (gce) {
            gce->globals = frame->globals;
            gce->globals_version = frame->globals->version;
            gce->builtins_version = vm->builtins->dict->version;
            gce->value = v;
        }
        PUSH(v);
        DISPATCH();
    }

    TARGET(STORE_GLOBAL) {
        if (asy_dict_set_str(vm, frame->globals, co->names[ARG], sp[-1]) < 0) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(DELETE_GLOBAL) {
        v = asy_dict_get_str(vm, frame->globals, co->names[ARG]);
        int r = asy_dict_del(vm, frame->globals, ASY_OBJ(co->names[ARG]));
        if (r < 0) goto error;
        if (r == 0) {
            asy_raise_name_error(vm, co->names[ARG], frame->globals);
            goto error;
        }
        SYNC();
        asy_unawaited_dropped(vm, v);
        DISPATCH();
    }

    TARGET(LOAD_NAME) {
        AsyStr *name = co->names[ARG];
        v = FRAME_NS(frame) ? asy_dict_get_str(vm, frame->ns, name) : ASY_UNDEF;
        if (ASY_IS_UNDEF(v)) v = asy_dict_get_str(vm, frame->globals, name);
        if (ASY_IS_UNDEF(v)) v = asy_dict_get_str(vm, vm->builtins->dict, name);
        if (ASY_IS_UNDEF(v)) {
            asy_raise_name_error(vm, name, frame->globals);
            goto error;
        }
        PUSH(v);
        DISPATCH();
    }

    TARGET(STORE_NAME) {
        AsyDict *ns = FRAME_NS(frame) ? frame->ns : frame->globals;
        if (asy_dict_set_str(vm, ns, co->names[ARG], sp[-1]) < 0) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(DELETE_NAME) {
        AsyDict *ns = FRAME_NS(frame) ? frame->ns : frame->globals;
        v = asy_dict_get_str(vm, ns, co->names[ARG]);
        int r = asy_dict_del(vm, ns, ASY_OBJ(co->names[ARG]));
        if (r < 0) goto error;
        if (r == 0) {
            asy_raise_name_error(vm, co->names[ARG], frame->globals);
            goto error;
        }
        SYNC();
        asy_unawaited_dropped(vm, v);
        DISPATCH();
    }

    TARGET(LOAD_ATTR) {
        if (is_type(vm, sp[-1], ASY_TYPE_module)) {
            v = module_attr(vm, co, ARG, sp[-1]);
            if (!ASY_IS_UNDEF(v)) {
                vset(sp - 1, v);
                DISPATCH();
            }
        }
        SYNC();
        AsyValue obj = sp[-1]; /* still on the stack: alive through the call */
        v = asy_getattr(vm, obj, co->names[ARG]);
        if (ASY_UNLIKELY(ASY_IS_ERR(v))) asy_attribute_error_context(vm, obj, co->names[ARG]);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(STORE_ATTR) {
        SYNC();
        int r = asy_setattr(vm, sp[-1], co->names[ARG], sp[-2]);
        RESYNC();
        if (r < 0) goto error;
        sp -= 2;
        DISPATCH();
    }

    TARGET(DELETE_ATTR) {
        SYNC();
        int r = asy_delattr(vm, sp[-1], co->names[ARG]);
        RESYNC();
        if (r < 0) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(LOAD_METHOD) {
        AsyStr *name = co->names[ARG];
        AsyValue obj = sp[-1];
        if (is_type(vm, obj, ASY_TYPE_module)) {
            /* `asyncio.sleep(...)`: a module's functions are plain values in its dict,
             * never methods of its type, so look there first. */
            v = module_attr(vm, co, ARG, obj);
            if (!ASY_IS_UNDEF(v)) {
                vset(sp - 1, v);
                PUSH(ASY_UNDEF);
                DISPATCH();
            }
        }
        /* `parts.append`: the method of a built-in type, cached in the instruction's
         * entry while no type changes (the types' epoch) */
        AsyType *t = type_of(vm, obj);
        AsyGlobalCache *mc = co->gcache ? &co->gcache[2 * co->nnames + ARG] : NULL;
        if (mc && mc->globals == (AsyDict *)t &&
            mc->globals_version == ASY_TYPE(vm, type)->type_epoch) {
            vset(sp - 1, mc->value);
            PUSH(obj);
            DISPATCH();
        }
        v = asy_vm_lookup_method(vm, t, obj, name);
        if (!ASY_IS_UNDEF(v)) {
            if (ASY_IS_OBJ(v) && method_cacheable(t, name) &&
                (co->gcache || global_cache(vm, co))) {
                mc = &co->gcache[2 * co->nnames + ARG];
                mc->globals = (AsyDict *)t;
                mc->globals_version = ASY_TYPE(vm, type)->type_epoch;
                mc->value = v;
            }
            vset(sp - 1, v);
            PUSH(obj);
            DISPATCH();
        }
        SYNC();
        v = asy_getattr(vm, obj, name);
        if (ASY_UNLIKELY(ASY_IS_ERR(v))) asy_attribute_error_context(vm, obj, name);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        PUSH(ASY_UNDEF);
        DISPATCH();
    }

    TARGET(BINARY_SUBSCR) {
        AsyValue c = sp[-2], k = sp[-1];
        if (ASY_IS_INT(k) && ASY_IS_OBJ(c)) {
            AsyType *t = ASY_AS_OBJ(c)->type;
            int64_t i = ASY_AS_INT(k);
            if (t == ASY_TYPE(vm, list)) {
                AsyList *l = (AsyList *)ASY_AS_OBJ(c);
                if (i < 0) i += l->len;
                if ((uint64_t)i < (uint64_t)l->len) {
                    vset(sp - 2, l->items[i]);
                    sp--;
                    DISPATCH();
                }
            } else if (t == ASY_TYPE(vm, tuple)) {
                AsyTuple *tu = (AsyTuple *)ASY_AS_OBJ(c);
                if (i < 0) i += tu->len;
                if ((uint64_t)i < (uint64_t)tu->len) {
                    vset(sp - 2, tu->items[i]);
                    sp--;
                    DISPATCH();
                }
            }
        }
        SYNC();
        v = asy_getitem(vm, c, k);
        RESYNC();
        CHECK(v);
        vset(sp - 2, v);
        sp--;
        DISPATCH();
    }

    TARGET(STORE_SUBSCR) {
        AsyValue c = sp[-2], k = sp[-1];
        if (ASY_IS_INT(k) && is_type(vm, c, ASY_TYPE_list)) {
            AsyList *l = (AsyList *)ASY_AS_OBJ(c);
            int64_t i = ASY_AS_INT(k);
            if (i < 0) i += l->len;
            if ((uint64_t)i < (uint64_t)l->len) {
                l->items[i] = sp[-3];
                sp -= 3;
                DISPATCH();
            }
        }
        SYNC();
        int r;
        /* d[s] = v on an exact dict and str: straight to the table */
        if (is_type(vm, c, ASY_TYPE_dict) && is_type(vm, k, ASY_TYPE_str))
            r = asy_dict_set_str(vm, (AsyDict *)ASY_AS_OBJ(c), as_str(k), sp[-3]);
        else
            r = asy_setitem(vm, c, k, sp[-3]);
        RESYNC();
        if (r < 0) goto error;
        sp -= 3;
        DISPATCH();
    }

    TARGET(DELETE_SUBSCR) {
        SYNC();
        int r = asy_delitem(vm, sp[-2], sp[-1]);
        RESYNC();
        if (r < 0) goto error;
        sp -= 2;
        DISPATCH();
    }

    TARGET(BINARY_OP) {
        AsyValue a = vget(sp - 2), b = vget(sp - 1);
        int op = ARG;
        if (op >= ASY_BIN_INPLACE) op -= ASY_BIN_INPLACE;
        {
            int q = op == ASY_BIN_ADD        ? OP_BINARY_ADD
                    : op == ASY_BIN_SUB      ? OP_BINARY_SUB
                    : op == ASY_BIN_MUL      ? OP_BINARY_MUL
                    : op == ASY_BIN_MOD      ? OP_BINARY_MOD
                    : op == ASY_BIN_FLOORDIV ? OP_BINARY_FLOORDIV
                                             : -1;
            if (q >= 0 && ASY_OP(*ip) == ASY_OP_STORE_FAST) q += OP_BINARY_ADD_ST - OP_BINARY_ADD;
            if (q >= 0) ((uint32_t *)ip)[-1] = ASY_INS(q, ARG);
        }
        if (ASY_LIKELY(ASY_IS_INT(a) && ASY_IS_INT(b))) {
            int64_t x = ASY_AS_INT(a), y = ASY_AS_INT(b), r;
            switch (op) {
            case ASY_BIN_ADD:
                if (int_op_fails(IOP_ADD, x, y, &r)) goto binop_slow;
                goto int_result;
            case ASY_BIN_SUB:
                if (int_op_fails(IOP_SUB, x, y, &r)) goto binop_slow;
                goto int_result;
            case ASY_BIN_MUL:
                if (int_op_fails(IOP_MUL, x, y, &r)) goto binop_slow;
                goto int_result;
            case ASY_BIN_MOD:
                if (y == 0 || y == -1 || int_op_fails(IOP_MOD, x, y, &r)) goto binop_slow;
                goto int_result;
            case ASY_BIN_FLOORDIV:
                if (y == 0 || y == -1 || int_op_fails(IOP_FLOORDIV, x, y, &r)) goto binop_slow;
                goto int_result;
            case ASY_BIN_TRUEDIV:
                if (y == 0 || x > (1LL << 53) || x < -(1LL << 53) || y > (1LL << 53) ||
                    y < -(1LL << 53))
                    goto binop_slow;
                vset(sp - 2, ASY_FLOAT((double)x / (double)y));
                sp--;
                DISPATCH();
            case ASY_BIN_AND: r = x & y; goto int_result;
            case ASY_BIN_OR: r = x | y; goto int_result;
            case ASY_BIN_XOR: r = x ^ y; goto int_result;
            case ASY_BIN_LSHIFT:
                if (y < 0 || y > 62) goto binop_slow;
                r = (int64_t)((uint64_t)x << y);
                if ((r >> y) != x) goto binop_slow;
                goto int_result;
            case ASY_BIN_RSHIFT:
                if (y < 0) goto binop_slow;
                r = y > 63 ? (x < 0 ? -1 : 0) : (x >> y);
                goto int_result;
            default: goto binop_slow;
            }
        int_result:
            vset(sp - 2, ASY_INT(r));
            sp--;
            DISPATCH();
        }
        if (ASY_IS_FLOAT(a) && ASY_IS_FLOAT(b)) {
            double x = ASY_AS_FLOAT(a), y = ASY_AS_FLOAT(b), r;
            switch (op) {
            case ASY_BIN_ADD: r = x + y; break;
            case ASY_BIN_SUB: r = x - y; break;
            case ASY_BIN_MUL: r = x * y; break;
            case ASY_BIN_TRUEDIV:
                if (y == 0.0) goto binop_slow;
                r = x / y;
                break;
            default: goto binop_slow;
            }
            vset(sp - 2, ASY_FLOAT(r));
            sp--;
            DISPATCH();
        }
    binop_slow:
        SYNC();
        v = asy_binop(vm, a, b, (AsyBinOp)ARG);
        RESYNC();
        CHECK(v);
        vset(sp - 2, v);
        sp--;
        DISPATCH();
    }

/* A quickened small-int operation r = x OP y (% and // not by 0 or -1, and int_op_fails
 * not failing); with `st`, r goes to the local of the STORE_FAST after it, which is then
 * skipped. Anything else takes the unquickened path. */
#define INT_BINOP(iop, st)                                                                \
    do {                                                                                  \
        AsyValue a = vget(sp - 2), b = vget(sp - 1);                                      \
        if (ASY_LIKELY(ASY_IS_INT(a) && ASY_IS_INT(b))) {                                 \
            int64_t y = ASY_AS_INT(b), r;                                                 \
            if (((iop) >= IOP_MOD && (y == 0 || y == -1)) ||                              \
                int_op_fails(iop, ASY_AS_INT(a), y, &r))                                  \
                goto binop_generic;                                                       \
            if (st) {                                                                     \
                vset(locals + ASY_ARG(*ip), ASY_INT(r));                                  \
                sp -= 2;                                                                  \
                ip++;                                                                     \
            } else {                                                                      \
                vset(sp - 2, ASY_INT(r));                                                 \
                sp--;                                                                     \
            }                                                                             \
            DISPATCH();                                                                   \
        }                                                                                 \
        goto binop_generic;                                                               \
    } while (0)

    QTARGET(BINARY_ADD) { INT_BINOP(IOP_ADD, 0); }

    QTARGET(BINARY_SUB) { INT_BINOP(IOP_SUB, 0); }

    QTARGET(BINARY_MUL) { INT_BINOP(IOP_MUL, 0); }

    QTARGET(BINARY_MOD) { INT_BINOP(IOP_MOD, 0); }

    QTARGET(BINARY_FLOORDIV) { INT_BINOP(IOP_FLOORDIV, 0); }

    QTARGET(BINARY_ADD_ST) { INT_BINOP(IOP_ADD, 1); }

    QTARGET(BINARY_SUB_ST) { INT_BINOP(IOP_SUB, 1); }

    QTARGET(BINARY_MUL_ST) { INT_BINOP(IOP_MUL, 1); }

    QTARGET(BINARY_MOD_ST) { INT_BINOP(IOP_MOD, 1); }

    QTARGET(BINARY_FLOORDIV_ST) { INT_BINOP(IOP_FLOORDIV, 1); }
#undef INT_BINOP

    binop_generic: {
        /* floats and everything else: the unquickened path */
        AsyValue a = vget(sp - 2), b = vget(sp - 1);
        if (ASY_IS_FLOAT(a) && ASY_IS_FLOAT(b)) {
            int op = ARG >= ASY_BIN_INPLACE ? ARG - ASY_BIN_INPLACE : ARG;
            double x = ASY_AS_FLOAT(a), y = ASY_AS_FLOAT(b), r;
            if (op == ASY_BIN_ADD) r = x + y;
            else if (op == ASY_BIN_SUB) r = x - y;
            else if (op == ASY_BIN_MUL) r = x * y;
            else goto binop_call;
            vset(sp - 2, ASY_FLOAT(r));
            sp--;
            DISPATCH();
        }
    binop_call:
        SYNC();
        v = asy_binop(vm, a, b, (AsyBinOp)ARG);
        RESYNC();
        CHECK(v);
        vset(sp - 2, v);
        sp--;
        DISPATCH();
    }

    TARGET(UNARY_NEG) {
        AsyValue a = sp[-1];
        if (ASY_IS_INT(a) && ASY_AS_INT(a) != INT64_MIN) {
            vset(sp - 1, ASY_INT(-ASY_AS_INT(a)));
            DISPATCH();
        }
        if (ASY_IS_FLOAT(a)) {
            vset(sp - 1, ASY_FLOAT(-ASY_AS_FLOAT(a)));
            DISPATCH();
        }
        SYNC();
        v = asy_unaryop(vm, a, ASY_UOP_NEG);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(UNARY_POS) {
        SYNC();
        v = asy_unaryop(vm, sp[-1], ASY_UOP_POS);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(UNARY_INVERT) {
        if (ASY_IS_INT(sp[-1])) {
            vset(sp - 1, ASY_INT(~ASY_AS_INT(sp[-1])));
            DISPATCH();
        }
        SYNC();
        v = asy_unaryop(vm, sp[-1], ASY_UOP_INVERT);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(UNARY_NOT) {
        AsyValue a = sp[-1];
        int t;
        if (ASY_IS_BOOL(a)) t = (int)ASY_AS_INT(a);
        else if (ASY_IS_NONE(a)) t = 0;
        else {
            SYNC();
            t = asy_truthy(vm, a);
            RESYNC();
            if (t < 0) goto error;
        }
        vset(sp - 1, ASY_BOOL(!t));
        DISPATCH();
    }

    TARGET(COMPARE_OP) {
        AsyValue a = vget(sp - 2), b = vget(sp - 1);
        bool r;
        if (ASY_IS_INT(a) && ASY_IS_INT(b)) {
            r = int_compare(ASY_AS_INT(a), ASY_AS_INT(b), ARG);
        } else if (ASY_IS_FLOAT(a) && ASY_IS_FLOAT(b)) {
            double x = ASY_AS_FLOAT(a), y = ASY_AS_FLOAT(b);
            switch (ARG) {
            case ASY_CMP_LT: r = x < y; break;
            case ASY_CMP_LE: r = x <= y; break;
            case ASY_CMP_EQ: r = x == y; break;
            case ASY_CMP_NE: r = x != y; break;
            case ASY_CMP_GT: r = x > y; break;
            default: r = x >= y; break;
            }
        } else {
            SYNC();
            v = asy_compare(vm, a, b, (AsyCmpOp)ARG);
            RESYNC();
            CHECK(v);
            vset(sp - 2, v);
            sp--;
            DISPATCH();
        }
        /* `if a < b:` and `while a < b:` jump on the result at once, without pushing it. */
        uint32_t next = *ip;
        if (ASY_OP(next) == ASY_OP_POP_JUMP_IF_FALSE || ASY_OP(next) == ASY_OP_POP_JUMP_IF_TRUE) {
            sp -= 2;
            ip++;
            if (r == (ASY_OP(next) == ASY_OP_POP_JUMP_IF_TRUE)) {
                const uint32_t *target = code_base + ASY_ARG(next);
                if (target < ip) SAFEPOINT();
                ip = target;
            }
            DISPATCH();
        }
        vset(sp - 2, ASY_BOOL(r));
        sp--;
        DISPATCH();
    }

    TARGET(IS_OP) {
        bool r = asy_value_is(sp[-2], sp[-1]);
        vset(sp - 2, ASY_BOOL(r != (ARG != 0)));
        sp--;
        DISPATCH();
    }

    TARGET(CONTAINS_OP) {
        SYNC();
        int r = asy_contains(vm, sp[-1], sp[-2]);
        RESYNC();
        if (r < 0) goto error;
        vset(sp - 2, ASY_BOOL((r == 1) != (ARG != 0)));
        sp--;
        DISPATCH();
    }

    TARGET(JUMP) {
        const uint32_t *target = code_base + ARG;
        if (target < ip) SAFEPOINT();
        ip = target;
        DISPATCH();
    }

#define TRUTH_OF(val, out_int)                                                            \
    do {                                                                                  \
        AsyValue tv_ = vget(&(val));                                                      \
        if (ASY_IS_BOOL(tv_) || ASY_IS_INT(tv_)) out_int = ASY_AS_INT(tv_) != 0;          \
        else if (ASY_IS_NONE(tv_)) out_int = 0;                                           \
        else {                                                                            \
            SYNC();                                                                       \
            out_int = asy_truthy(vm, tv_);                                                \
            RESYNC();                                                                     \
            if (out_int < 0) goto error;                                                  \
        }                                                                                 \
    } while (0)

    TARGET(POP_JUMP_IF_FALSE) {
        int t;
        TRUTH_OF(sp[-1], t);
        sp--;
        if (!t) {
            const uint32_t *target = code_base + ARG;
            if (target < ip) SAFEPOINT();
            ip = target;
        }
        DISPATCH();
    }

    TARGET(POP_JUMP_IF_TRUE) {
        int t;
        TRUTH_OF(sp[-1], t);
        sp--;
        if (t) {
            const uint32_t *target = code_base + ARG;
            if (target < ip) SAFEPOINT();
            ip = target;
        }
        DISPATCH();
    }

    TARGET(JUMP_IF_FALSE_OR_POP) {
        int t;
        TRUTH_OF(sp[-1], t);
        if (!t) ip = code_base + ARG;
        else sp--;
        DISPATCH();
    }

    TARGET(JUMP_IF_TRUE_OR_POP) {
        int t;
        TRUTH_OF(sp[-1], t);
        if (t) ip = code_base + ARG;
        else sp--;
        DISPATCH();
    }

    TARGET(GET_ITER) {
        AsyValue o = sp[-1];
        if (is_type(vm, o, ASY_TYPE_generator)) DISPATCH();
        SYNC();
        v = asy_iter(vm, o);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    QTARGET(FOR_RANGE_ST) {
        AsyValue it = vget(sp - 1);
        if (ASY_UNLIKELY(!ASY_IS_OBJ(it) ||
                         ASY_AS_OBJ(it)->type != ASY_TYPE(vm, range_iterator)))
            goto for_iter;
        AsyRangeIter *ri = (AsyRangeIter *)ASY_AS_OBJ(it);
        if (ri->remaining <= 0) {
            sp--;
            ip = code_base + ARG;
            DISPATCH();
        }
        vset(locals + ASY_ARG(*ip), ASY_INT(ri->next));
        ri->next = (int64_t)((uint64_t)ri->next + (uint64_t)ri->step);
        ri->remaining--;
        ip++;
        DISPATCH();
    }

    TARGET(FOR_ITER)
    for_iter: {
        AsyValue it = sp[-1];
        AsyType *t = type_of(vm, it);
        if (t == ASY_TYPE(vm, range_iterator)) {
            AsyRangeIter *ri = (AsyRangeIter *)ASY_AS_OBJ(it);
            if (ri->remaining <= 0) {
                v = ASY_UNDEF;
            } else {
                v = ASY_INT(ri->next);
                ri->next = (int64_t)((uint64_t)ri->next + (uint64_t)ri->step);
                ri->remaining--;
                /* `for i in ...:` stores the item at once: skip the push and the pop. */
                if (ASY_OP(*ip) == ASY_OP_STORE_FAST) {
                    ((uint32_t *)ip)[-1] = ASY_INS(OP_FOR_RANGE_ST, ARG);
                    vset(locals + ASY_ARG(*ip), v);
                    ip++;
                    DISPATCH();
                }
            }
        } else if (t == ASY_TYPE(vm, list_iterator)) {
            AsyListIter *li = (AsyListIter *)ASY_AS_OBJ(it);
            if (li->seq && li->index < li->seq->len) {
                v = li->seq->items[li->index++];
                if (ASY_OP(*ip) == ASY_OP_STORE_FAST) {
                    vset(locals + ASY_ARG(*ip), v);
                    ip++;
                    DISPATCH();
                }
            } else {
                li->seq = NULL;
                v = ASY_UNDEF;
            }
        } else if (t == ASY_TYPE(vm, tuple_iterator)) {
            /* It never runs asy code: no need to publish the state. */
            v = t->next(vm, it);
        } else if (t == ASY_TYPE(vm, generator)) {
            AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(it);
            if (g->state == ASY_GEN_CLOSED) {
                v = ASY_UNDEF;
            } else {
                if (!gen_can_start(vm, g)) goto error;
                SYNC();
                frame->sp = fiber->sp;
                if (!asy_gen_push(vm, fiber, g, ASY_RESUME_FOR_ITER, ASY_NONE)) {
                    RESYNC();
                    goto error;
                }
                LOAD_FRAME();
                DISPATCH();
            }
        } else {
            SYNC();
            v = t->next(vm, it);
            RESYNC();
        }
        CHECK(v);
        if (ASY_IS_UNDEF(v)) {
            sp--;
            ip = code_base + ARG;
            DISPATCH();
        }
        PUSH(v);
        DISPATCH();
    }

    TARGET(BUILD_TUPLE) {
        AsyTuple *t = asy_tuple_from_array(vm, sp - ARG, ARG);
        if (!t) goto error;
        sp -= ARG;
        PUSH(ASY_OBJ(t));
        DISPATCH();
    }

    TARGET(BUILD_LIST) {
        AsyList *l = asy_list_from_array(vm, sp - ARG, ARG);
        if (!l) goto error;
        sp -= ARG;
        PUSH(ASY_OBJ(l));
        DISPATCH();
    }

    TARGET(BUILD_SET) {
        AsySet *s = asy_set_new(vm, false);
        if (!s) goto error;
        v = ASY_OBJ(s);
        SYNC();
        asy_root_push(vm, v);
        for (int i = ARG; i > 0; i--) {
            if (asy_set_add(vm, s, fiber->stack[fiber->sp - i]) < 0) {
                asy_root_pop(vm, 1);
                RESYNC();
                goto error;
            }
        }
        asy_root_pop(vm, 1);
        RESYNC();
        sp -= ARG;
        PUSH(v);
        DISPATCH();
    }

    TARGET(BUILD_MAP) {
        AsyDict *d = asy_dict_new(vm);
        if (!d) goto error;
        v = ASY_OBJ(d);
        SYNC();
        asy_root_push(vm, v);
        for (int i = ARG; i > 0; i--) {
            AsyValue *kv = fiber->stack + fiber->sp - 2 * i;
            if (asy_dict_set(vm, d, kv[0], kv[1]) < 0) {
                asy_root_pop(vm, 1);
                RESYNC();
                goto error;
            }
        }
        asy_root_pop(vm, 1);
        RESYNC();
        sp -= 2 * ARG;
        PUSH(v);
        DISPATCH();
    }

    TARGET(BUILD_STRING) {
        AsyStr *s = asy_str_build(vm, sp - ARG, (size_t)ARG);
        if (!s) goto error;
        sp -= ARG;
        PUSH(ASY_OBJ(s));
        DISPATCH();
    }

    TARGET(BUILD_SLICE) {
        AsyValue step = ARG == 3 ? sp[-1] : ASY_NONE;
        AsyValue *base = sp - ARG;
        v = asy_slice_new(vm, base[0], base[1], step);
        CHECK(v);
        sp = base;
        PUSH(v);
        DISPATCH();
    }

    TARGET(LIST_APPEND) {
        AsyList *l = (AsyList *)ASY_AS_OBJ(sp[-1 - ARG]);
        if (asy_list_append(vm, l, sp[-1]) < 0) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(SET_ADD) {
        SYNC();
        int r = asy_set_add(vm, (AsySet *)ASY_AS_OBJ(sp[-1 - ARG]), sp[-1]);
        RESYNC();
        if (r < 0) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(MAP_ADD) {
        SYNC();
        int r = asy_dict_set(vm, (AsyDict *)ASY_AS_OBJ(sp[-2 - ARG]), sp[-2], sp[-1]);
        RESYNC();
        if (r < 0) goto error;
        sp -= 2;
        DISPATCH();
    }

    TARGET(LIST_EXTEND) {
        AsyValue src = sp[-1];
        AsyList *l = (AsyList *)ASY_AS_OBJ(sp[-1 - ARG]);
        if (is_type(vm, src, ASY_TYPE_list) || is_type(vm, src, ASY_TYPE_tuple)) {
            bool lst = is_type(vm, src, ASY_TYPE_list);
            int64_t n = lst ? ((AsyList *)ASY_AS_OBJ(src))->len : ((AsyTuple *)ASY_AS_OBJ(src))->len;
            for (int64_t i = 0; i < n; i++) {
                AsyValue x = lst ? ((AsyList *)ASY_AS_OBJ(src))->items[i]
                                 : ((AsyTuple *)ASY_AS_OBJ(src))->items[i];
                if (asy_list_append(vm, l, x) < 0) goto error;
            }
            sp--;
            DISPATCH();
        }
        SYNC();
        AsyValue it = asy_iter(vm, src);
        if (ASY_IS_ERR(it)) {
            if (asy_exc_matches(vm, ASY_EXC_TypeError) &&
                ASY_IS_UNDEF(asy_type_lookup(type_of(vm, src), ASY_S(vm, __iter__))) &&
                ASY_IS_UNDEF(asy_type_lookup(type_of(vm, src), ASY_S(vm, __getitem__)))) {
                asy_exc_clear(vm);
                asy_raise(vm, ASY_EXC_TypeError, "Value after * must be an iterable, not %s",
                          asy_type_name(vm, src));
            }
            RESYNC();
            goto error;
        }
        asy_root_push(vm, it);
        for (;;) {
            AsyValue x = asy_next(vm, it);
            if (ASY_IS_UNDEF(x)) break;
            if (ASY_IS_ERR(x) || asy_list_append(vm, l, x) < 0) {
                asy_root_pop(vm, 1);
                RESYNC();
                goto error;
            }
        }
        asy_root_pop(vm, 1);
        RESYNC();
        sp--;
        DISPATCH();
    }

    TARGET(SET_UPDATE) {
        /* set.update copies a set argument's table as CPython does, which decides the
         * iteration order of {*a, *b} and of constant displays. */
        SYNC();
        AsySet *s = (AsySet *)ASY_AS_OBJ(sp[-1 - ARG]);
        int rc = asy_set_update(vm, s, sp[-1]);
        RESYNC();
        if (rc < 0) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(DICT_UPDATE) {
        SYNC();
        bool ok = asy_vm_dict_update(vm, (AsyDict *)ASY_AS_OBJ(sp[-1 - ARG]), sp[-1], false,
                                   ASY_UNDEF);
        RESYNC();
        if (!ok) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(DICT_MERGE) {
        SYNC();
        bool ok = asy_vm_dict_update(vm, (AsyDict *)ASY_AS_OBJ(sp[-1 - ARG]), sp[-1], true,
                                   sp[-3 - ARG]);
        RESYNC();
        if (!ok) goto error;
        sp--;
        DISPATCH();
    }

    TARGET(LIST_TO_TUPLE) {
        AsyList *l = (AsyList *)ASY_AS_OBJ(sp[-1]);
        AsyTuple *t = asy_tuple_from_array(vm, l->items, l->len);
        if (!t) goto error;
        vset(sp - 1, ASY_OBJ(t));
        DISPATCH();
    }

    TARGET(UNPACK_SEQUENCE) {
        int n = ARG;
        AsyValue seq = sp[-1];
        if (is_type(vm, seq, ASY_TYPE_tuple) && ((AsyTuple *)ASY_AS_OBJ(seq))->len == n) {
            AsyTuple *t = (AsyTuple *)ASY_AS_OBJ(seq);
            sp--;
            for (int i = n - 1; i >= 0; i--) PUSH(t->items[i]);
            DISPATCH();
        }
        AsyValue small[16], *dst = small;
        if (n > 16 && !(dst = asy_mem_alloc(vm, sizeof(AsyValue) * (size_t)n))) goto error;
        SYNC();
        bool ok = asy_vm_unpack(vm, seq, n, 0, false, dst);
        RESYNC();
        if (ok) {
            sp--;
            for (int i = n - 1; i >= 0; i--) PUSH(dst[i]);
        }
        if (dst != small) asy_mem_free(vm, dst, sizeof(AsyValue) * (size_t)n);
        if (!ok) goto error;
        DISPATCH();
    }

    TARGET(UNPACK_EX) {
        int before = ARG & 0xFF, after = ARG >> 8, n = before + after + 1;
        AsyValue small[16], *dst = small;
        if (n > 16 && !(dst = asy_mem_alloc(vm, sizeof(AsyValue) * (size_t)n))) goto error;
        SYNC();
        bool ok = asy_vm_unpack(vm, sp[-1], before, after, true, dst);
        RESYNC();
        if (ok) {
            sp--;
            for (int i = n - 1; i >= 0; i--) PUSH(dst[i]);
        }
        if (dst != small) asy_mem_free(vm, dst, sizeof(AsyValue) * (size_t)n);
        if (!ok) goto error;
        DISPATCH();
    }

    TARGET(FORMAT_VALUE) {
        bool has_spec = (ARG & 4) != 0;
        AsyValue val = has_spec ? sp[-2] : sp[-1];
        AsyStr *spec = has_spec ? as_str(sp[-1]) : vm->empty_str;
        SYNC();
        if (ASY_IS_INT(val) && (ARG & 3) <= 1 && !has_spec) {
            /* f"key{i}": BUILD_STRING writes the int's digits itself. */
            if (ARG & ASY_FORMAT_JOINED) DISPATCH();
            /* f"{i}": straight to decimal, no __format__/__str__ dispatch. */
            val = asy_int_to_str(vm, val, 10);
            RESYNC();
            CHECK(val);
            vset(sp - 1, val);
            DISPATCH();
        }
        switch (ARG & 3) {
        case 1: val = asy_str(vm, val); break;
        case 2: val = asy_repr(vm, val); break;
        case 3: {
            AsyValue ascii = asy_dict_get_cstr(vm, vm->builtins->dict, "ascii");
            val = ASY_IS_UNDEF(ascii) ? asy_repr(vm, val) : asy_call(vm, ascii, 1, &val, NULL);
            break;
        }
        default: break;
        }
        if (!ASY_IS_ERR(val) && !(is_type(vm, val, ASY_TYPE_str) && spec->len == 0)) {
            asy_root_push(vm, val);
            val = asy_format(vm, val, spec);
            asy_root_pop(vm, 1);
        }
        RESYNC();
        CHECK(val);
        if (has_spec) sp--;
        vset(sp - 1, val);
        DISPATCH();
    }

    TARGET(CALL) {
        int argc = ARG;
        int32_t fs = (int32_t)(sp - fiber->stack) - argc - 1;
        SAFEPOINT();
        AsyValue callable = sp[-argc - 1];
        if (ASY_LIKELY(asy_is_function(vm, callable))) {
            /* The common case inline: positional arguments matching the parameters. */
            AsyFunction *fn = (AsyFunction *)ASY_AS_OBJ(callable);
            AsyCode *fco = fn->code;
            if (ASY_LIKELY(argc == fco->fast_argc && fiber->nframes < fiber->framecap &&
                           fiber->nframes < vm->recursion_limit &&
                           (int64_t)fs + 1 + asy_fiber_frame_size(fco) <= fiber->stackcap)) {
                frame->pc = (int32_t)(ip - code_base);
                /* locals past the arguments, and the handler block slots (no cells
                 * or frees here) */
                int32_t fixed = fco->nlocals + fco->maxblocks;
                for (int32_t i = argc; i < fixed; i++) vset(sp + i - argc, ASY_UNDEF);
                AsyFrame *fr = frame + 1; /* frame is the top one: no index arithmetic */
                fiber->nframes++;
                fr->func = fn;
                fr->code = fco;
                fr->globals = fn->globals;
                fr->pc = 0;
                fr->base = fs + 1;
                fr->ret_sp = fs;
                fr->flags = 0;
                fr->resume = ASY_RESUME_NONE;
                fr->nblocks = 0;
                /* LOAD_FRAME from what is at hand; fiber->sp is written by the next
                 * SYNC, as everywhere in the loop. */
                frame = fr;
                co = fco;
                code_base = ip = fco->code;
                consts = fco->consts;
                locals = sp - argc;
                sp = locals + fixed;
                DISPATCH();
            }
        }
        SYNC();
        if (call_native_fast(vm, callable, sp - argc, argc, &v)) {
            RESYNC();
            CHECK(v);
            sp = fiber->stack + fs;
            PUSH(v);
            DISPATCH();
        }
        CallResult r = asy_vm_call_setup(vm, fiber, fs, fs + 1, argc, NULL, &v);
        if (r == CALL_FRAME) {
            LOAD_FRAME();
            DISPATCH();
        }
        RESYNC();
        if (r == CALL_ERROR) goto error;
        own_loop_gen(vm, ip, fiber->stack[fs], v);
        sp = fiber->stack + fs;
        PUSH(v);
        DISPATCH();
    }

    TARGET(CALL_KW) {
        int argc = ARG;
        AsyTuple *names = (AsyTuple *)ASY_AS_OBJ(sp[-1]);
        sp--; /* the names tuple stays alive in the code's constants */
        int32_t fs = (int32_t)(sp - fiber->stack) - argc - 1;
        SAFEPOINT();
        SYNC();
        CallResult r = asy_vm_call_setup(vm, fiber, fs, fs + 1, argc, names, &v);
        if (r == CALL_FRAME) {
            LOAD_FRAME();
            DISPATCH();
        }
        RESYNC();
        if (r == CALL_ERROR) goto error;
        own_loop_gen(vm, ip, fiber->stack[fs], v);
        sp = fiber->stack + fs;
        PUSH(v);
        DISPATCH();
    }

    TARGET(CALL_METHOD) {
        int argc = ARG;
        int32_t fs = (int32_t)(sp - fiber->stack) - argc - 2;
        SAFEPOINT();
        SYNC();
        bool noself = ASY_IS_UNDEF(fiber->stack[fs + 1]);
        if (call_native_fast(vm, fiber->stack[fs], fiber->stack + fs + 1 + noself,
                             argc + !noself, &v)) {
            RESYNC();
            CHECK(v);
            sp = fiber->stack + fs;
            PUSH(v);
            DISPATCH();
        }
        CallResult r;
        if (noself)
            r = asy_vm_call_setup(vm, fiber, fs, fs + 2, argc, NULL, &v);
        else
            r = asy_vm_call_setup(vm, fiber, fs, fs + 1, argc + 1, NULL, &v);
        if (r == CALL_FRAME) {
            LOAD_FRAME();
            DISPATCH();
        }
        RESYNC();
        if (r == CALL_ERROR) goto error;
        own_loop_gen(vm, ip, fiber->stack[fs], v);
        sp = fiber->stack + fs;
        PUSH(v);
        DISPATCH();
    }

    TARGET(CALL_METHOD_KW) {
        int argc = ARG;
        AsyTuple *names = (AsyTuple *)ASY_AS_OBJ(sp[-1]);
        sp--;
        int32_t fs = (int32_t)(sp - fiber->stack) - argc - 2;
        SAFEPOINT();
        SYNC();
        CallResult r;
        if (ASY_IS_UNDEF(fiber->stack[fs + 1]))
            r = asy_vm_call_setup(vm, fiber, fs, fs + 2, argc, names, &v);
        else
            r = asy_vm_call_setup(vm, fiber, fs, fs + 1, argc + 1, names, &v);
        if (r == CALL_FRAME) {
            LOAD_FRAME();
            DISPATCH();
        }
        RESYNC();
        if (r == CALL_ERROR) goto error;
        own_loop_gen(vm, ip, fiber->stack[fs], v);
        sp = fiber->stack + fs;
        PUSH(v);
        DISPATCH();
    }

    TARGET(CALL_EX) {
        bool has_kw = (ARG & 1) != 0;
        int32_t fs = (int32_t)(sp - fiber->stack) - (has_kw ? 3 : 2);
        SAFEPOINT();
        SYNC();
        AsyValue args = fiber->stack[fs + 1];
        if (is_type(vm, args, ASY_TYPE_list)) {
            /* f(*lst): the tuple straight from the list (PySequence_Tuple), not through a
             * copy of it: gather(*tasks) of 100,000 tasks kept 1.6 MB more at its peak */
            AsyList *l = (AsyList *)ASY_AS_OBJ(args);
            AsyTuple *t = asy_tuple_from_array(vm, l->items, l->len);
            if (!t) {
                RESYNC();
                goto error;
            }
            fiber->stack[fs + 1] = ASY_OBJ(t);
        } else if (!is_type(vm, args, ASY_TYPE_tuple)) {
            AsyValue it = asy_iter(vm, args);
            AsyList *l = NULL;
            if (!ASY_IS_ERR(it)) {
                asy_root_push(vm, it);
                l = asy_list_from_iterable(vm, it);
                asy_root_pop(vm, 1);
            } else if (asy_exc_matches(vm, ASY_EXC_TypeError)) {
                asy_exc_clear(vm);
                AsyStr *fs_name = asy_vm_func_str(vm, fiber->stack[fs]);
                if (fs_name)
                    asy_raise(vm, ASY_EXC_TypeError, "%U argument after * must be an iterable, not %s",
                              fs_name, asy_type_name(vm, args));
            }
            AsyTuple *t = l ? asy_tuple_from_array(vm, l->items, l->len) : NULL;
            if (!t) {
                RESYNC();
                goto error;
            }
            fiber->stack[fs + 1] = ASY_OBJ(t);
        }
        AsyDict *kw = NULL;
        if (has_kw) {
            AsyValue k = fiber->stack[fs + 2];
            if (!is_type(vm, k, ASY_TYPE_dict)) {
                AsyDict *d = asy_dict_new(vm);
                if (!d) {
                    RESYNC();
                    goto error;
                }
                asy_root_push(vm, ASY_OBJ(d));
                bool ok = asy_vm_dict_update(vm, d, k, true, fiber->stack[fs]);
                asy_root_pop(vm, 1);
                if (!ok) {
                    RESYNC();
                    goto error;
                }
                fiber->stack[fs + 2] = ASY_OBJ(d);
            }
            kw = (AsyDict *)ASY_AS_OBJ(fiber->stack[fs + 2]);
            int64_t pos = 0;
            AsyValue kk, vv;
            while (asy_dict_next(kw, &pos, &kk, &vv)) {
                if (!is_type(vm, kk, ASY_TYPE_str)) {
                    asy_raise(vm, ASY_EXC_TypeError, "keywords must be strings");
                    RESYNC();
                    goto error;
                }
            }
        }
        CallResult r = asy_vm_call_ex_setup(vm, fiber, fs, (AsyTuple *)ASY_AS_OBJ(fiber->stack[fs + 1]),
                                     kw, &v);
        if (r == CALL_FRAME) {
            LOAD_FRAME();
            DISPATCH();
        }
        RESYNC();
        if (r == CALL_ERROR) goto error;
        own_loop_gen(vm, ip, fiber->stack[fs], v);
        sp = fiber->stack + fs;
        PUSH(v);
        DISPATCH();
    }

    TARGET(MAKE_FUNCTION) {
        AsyCode *fco = (AsyCode *)ASY_AS_OBJ(*--sp);
        AsyFunction *fn = asy_function_new(vm, fco, frame->globals);
        if (!fn) goto error;
        if (ARG & 4) fn->closure = (AsyTuple *)ASY_AS_OBJ(*--sp);
        if (ARG & 2) fn->kwdefaults = (AsyDict *)ASY_AS_OBJ(*--sp);
        if (ARG & 1) fn->defaults = (AsyTuple *)ASY_AS_OBJ(*--sp);
        PUSH(ASY_OBJ(fn));
        DISPATCH();
    }

    TARGET(RETURN_VALUE) {
        sp--;
        v = vget(sp);
        if (ASY_UNLIKELY(frame->flags != 0)) goto return_slow;
    return_plain:
        /* LOAD_FRAME of the caller, which is the frame below */
        sp = fiber->stack + frame->ret_sp;
        fiber->nframes--;
        frame--;
        co = frame->code;
        code_base = co->code;
        ip = code_base + frame->pc;
        consts = co->consts;
        locals = fiber->stack + frame->base;
        PUSH(v);
        /* No safepoint: the call had one, and any loop has its backward jump. */
        DISPATCH();
    }

    TARGET(BUILD_CLASS) {
        int nbases = ARG & 0xFFFF, haskw = (ARG & ASY_BUILD_CLASS_KW) != 0;
        int32_t fs = (int32_t)(sp - fiber->stack) - nbases - 2 - haskw;
        AsyValue body = fiber->stack[fs];
        if (!asy_is_function(vm, body)) {
            asy_raise(vm, ASY_EXC_TypeError, "__build_class__: func must be a function");
            goto error;
        }
        AsyFunction *fn = (AsyFunction *)ASY_AS_OBJ(body);
        SYNC();
        AsyValue nsv = asy_class_namespace(vm, as_str(fiber->stack[fs + 1]), fiber->stack + fs + 2,
                                           nbases, haskw ? (AsyDict *)ASY_AS_OBJ(sp[-1]) : NULL);
        RESYNC();
        CHECK(nsv);
        AsyDict *ns = (AsyDict *)ASY_AS_OBJ(nsv);
        PUSH(nsv); /* rooted until the frame holds it */
        AsyValue modname = asy_dict_get_str(vm, frame->globals, ASY_S(vm, __name__));
        if (!ASY_IS_UNDEF(modname) && asy_dict_set_str(vm, ns, ASY_S(vm, __module__), modname) < 0)
            goto error;
        if (fn->code->qualname &&
            asy_dict_set_str(vm, ns, ASY_S(vm, __qualname__), ASY_OBJ(fn->code->qualname)) < 0)
            goto error;
        SAFEPOINT();
        SYNC();
        int32_t top = fiber->sp;
        KwArgs nokw = {NULL, NULL, NULL, 0};
        CallResult r = asy_vm_call_function(vm, fiber, fn, fs, top, top, NULL, 0, nokw, -1,
                                     ASY_FRAME_CLASS, ASY_INT(ARG), &v);
        if (r == CALL_FRAME) {
            fiber->frames[fiber->nframes - 1].ns = ns;
            LOAD_FRAME();
            DISPATCH();
        }
        RESYNC();
        if (r == CALL_VALUE) asy_raise(vm, ASY_EXC_TypeError, "class body must not be a generator");
        goto error;
    }

    TARGET(SETUP_FINALLY) {
        if (ASY_UNLIKELY(frame->nblocks >= co->maxblocks)) {
            asy_raise(vm, ASY_EXC_SystemError, "compiler bug: handler block overflow");
            goto error;
        }
        AsyBlock b = {ARG, (int32_t)(sp - locals)};
        locals[co->blockbase + frame->nblocks++] = asy_block_pack(b);
        DISPATCH();
    }

    TARGET(POP_BLOCK) {
        frame->nblocks--;
        DISPATCH();
    }

    TARGET(POP_EXCEPT) {
        fiber->handled = asy_obj_or_null(*--sp);
        DISPATCH();
    }

    TARGET(CHECK_EXC_MATCH) {
        SYNC();
        int r = asy_vm_exc_match(vm, sp[-2], sp[-1]);
        RESYNC();
        if (r < 0) goto error;
        vset(sp - 1, ASY_BOOL(r));
        DISPATCH();
    }

    TARGET(CHECK_EG_MATCH) {
        AsyValue match, rest;
        SYNC();
        int r = asy_excgroup_match(vm, sp[-2], sp[-1], &match, &rest);
        RESYNC();
        if (r < 0) goto error;
        if (!ASY_IS_NONE(match)) {
            vset(sp - 2, rest);
            fiber->handled = asy_obj_or_null(match);
        }
        vset(sp - 1, match);
        DISPATCH();
    }

    TARGET(PREP_RERAISE_STAR) {
        SYNC();
        v = asy_excgroup_prep_reraise(vm, sp[-2], (AsyList *)ASY_AS_OBJ(sp[-1]));
        RESYNC();
        CHECK(v);
        sp--;
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(RERAISE) {
        vm->exc = (AsyException *)ASY_AS_OBJ(*--sp);
        goto reraise;
    }

    TARGET(RAISE_VARARGS) {
        if (ARG == 0) {
            if (!fiber->handled) {
                asy_raise(vm, ASY_EXC_RuntimeError, "No active exception to reraise");
                goto error;
            }
            vm->exc = (AsyException *)fiber->handled;
            goto reraise;
        }
        AsyValue cause = ARG == 2 ? sp[-1] : ASY_UNDEF;
        AsyValue exc = sp[-ARG];
        SYNC();
        asy_raise_value(vm, exc);
        /* The cause applies only when exc itself (or an instance of it) is what is raised:
         * not to the TypeError of a bad `raise 5 from x`, nor to an error of __init__. */
        if (ARG == 2 && vm->exc &&
            (asy_value_is(ASY_OBJ(vm->exc), exc) ||
             (asy_vm_is_exc_class(vm, exc) && vm->exc->hdr.type == (AsyType *)ASY_AS_OBJ(exc))))
            asy_vm_apply_cause(vm, cause);
        RESYNC();
        sp -= ARG;
        /* An explicit raise always records the exception being handled as context. */
        asy_traceback_push(vm, vm->exc, co, (int32_t)(ip - code_base - 1));
        set_context(vm->exc, asy_obj_or_none(fiber->handled));
        goto unwind;
    }

    TARGET(LOAD_ASSERTION_ERROR) {
        PUSH(ASY_OBJ(vm->exc_types[ASY_EXC_AssertionError]));
        DISPATCH();
    }

    TARGET(BEFORE_WITH) {
        AsyValue exit;
        SYNC();
        v = asy_vm_enter_context(vm, sp[-1], false, &exit);
        RESYNC();
        CHECK(v);
        vset(sp - 1, exit);
        PUSH(v);
        DISPATCH();
    }

    TARGET(WITH_EXCEPT_START) {
        AsyValue exitf = sp[-3], exc = sp[-1];
        AsyValue args[3];
        args[0] = ASY_OBJ(type_of(vm, exc));
        args[1] = exc;
        AsyException *e = (AsyException *)ASY_AS_OBJ(exc);
        args[2] = e->traceback ? ASY_OBJ(e->traceback) : ASY_NONE;
        SYNC();
        v = asy_call(vm, exitf, 3, args, NULL);
        RESYNC();
        CHECK(v);
        PUSH(v);
        DISPATCH();
    }

    TARGET(BEFORE_ASYNC_WITH) {
        AsyValue exit;
        SYNC();
        v = asy_vm_enter_context(vm, sp[-1], true, &exit);
        RESYNC();
        CHECK(v);
        vset(sp - 1, exit);
        PUSH(v);
        DISPATCH();
    }

    TARGET(GET_AWAITABLE) {
        /* coroutines and native awaitables (asyncio.sleep's, futures) are their own */
        if (ASY_IS_OBJ(sp[-1]) && (ASY_AS_OBJ(sp[-1])->type->await_ || asy_is_coroutine(vm, sp[-1])))
            DISPATCH();
        SYNC();
        v = asy_vm_get_awaitable(vm, sp[-1]);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(AWAIT) {
        AsyValue aw = sp[-1];
        /* The value sent into this frame while it was suspended here (fiber.h). */
        AsyValue sent = await_sent = vm->pending_send;
        vm->pending_send = ASY_UNDEF;
        /* native awaitables (asyncio.sleep's, futures) first: their type has the slot */
        AsyAwaitFn slot = type_of(vm, aw)->await_;
        if (!slot && asy_is_gen(vm, aw) && !is_type(vm, aw, ASY_TYPE_async_generator)) {
            AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(aw);
            if (g->state == ASY_GEN_CLOSED) {
                asy_raise(vm, ASY_EXC_RuntimeError, "cannot reuse already awaited %s",
                          g->kind == ASY_GENKIND_COROUTINE ? "coroutine" : "generator");
                goto error;
            }
            if (!gen_can_start(vm, g) || (ASY_IS_UNDEF(sent) && !coro_can_await(vm, g))) goto error;
            g->awaited = true;
            SYNC();
            if (!asy_gen_push(vm, fiber, g, ASY_RESUME_AWAIT,
                              ASY_IS_UNDEF(sent) ? ASY_NONE : sent)) {
                RESYNC();
                goto error;
            }
            LOAD_FRAME();
            DISPATCH();
        }
        if (!slot) slot = asy_vm_await_slot(type_of(vm, aw)); /* a subclass of Future */
        if (slot) {
            AsyValue res = ASY_UNDEF;
            SYNC();
            int r = slot(vm, aw, sent, can_suspend ? ASY_AWAIT_IN_TASK : ASY_AWAIT_STEPPED, &res);
            RESYNC();
            if (r == ASY_AWAIT_ERROR) goto error;
            if (r == ASY_AWAIT_DONE) {
                vset(sp - 1, res);
                DISPATCH();
            }
            v = ASY_IS_UNDEF(res) ? aw : res;
            goto await_suspend;
        }
        if (asy_is_agen_op(vm, aw)) goto await_agen_op;
        /* A plain iterator from __await__: each value it yields goes to the scheduler. */
        SYNC();
        if (ASY_IS_UNDEF(sent) || ASY_IS_NONE(sent)) {
            v = asy_next(vm, aw);
        } else {
            AsyValue send = asy_vm_lookup_special(vm, aw, ASY_S(vm, send));
            if (ASY_IS_UNDEF(send))
                v = asy_raise(vm, ASY_EXC_AttributeError, "'%s' object has no attribute 'send'",
                              asy_type_name(vm, aw));
            else if (!ASY_IS_ERR(send)) {
                asy_root_push(vm, send);
                v = asy_call(vm, send, 1, &sent, NULL);
                asy_root_pop(vm, 1);
                if (ASY_IS_ERR(v) && asy_exc_matches(vm, ASY_EXC_StopIteration)) {
                    v = vm->exc->value;
                    asy_exc_clear(vm);
                    RESYNC();
                    vset(sp - 1, ASY_IS_UNDEF(v) ? ASY_NONE : v);
                    DISPATCH();
                }
            }
        }
        RESYNC();
        CHECK(v);
        if (ASY_IS_UNDEF(v)) {
            vset(sp - 1, ASY_NONE);
            DISPATCH();
        }
    await_suspend:
        /* Not ready: the task suspends here and AWAIT runs again when it resumes; outside
         * a task the value travels down the await chain as a yield. */
        ip--;
        if (can_suspend) {
            SYNC();
            *out = v;
            fiber->nested--;
            return RUN_SUSPEND;
        }
        yprop = true;
        goto do_yield;
    }

    await_agen_op: {
        AsyAgenOp *op = (AsyAgenOp *)ASY_AS_OBJ(sp[-1]);
        AsyGenerator *g = op->gen;
        AsyValue sent = await_sent;
        if (op->used == 1 && g->state == ASY_GEN_SUSPENDED) {
            /* re-executed: the async generator was suspended in an await of its own */
            SYNC();
            if (!asy_gen_push(vm, fiber, g, ASY_RESUME_ASEND, ASY_IS_UNDEF(sent) ? ASY_NONE : sent)) {
                RESYNC();
                goto error;
            }
            LOAD_FRAME();
            DISPATCH();
        }
        if (op->used) {
            asy_raise(vm, ASY_EXC_RuntimeError, "cannot reuse already awaited %s",
                      op->mode == ASY_AGEN_ASEND ? "__anext__()/asend()" : "aclose()/athrow()");
            goto error;
        }
        op->used = 1;
        if (g->state == ASY_GEN_RUNNING || g->agen_running) {
            asy_raise(vm, ASY_EXC_RuntimeError, "%s(): asynchronous generator is already running",
                      op->mode == ASY_AGEN_ASEND ? "anext" : op->mode == ASY_AGEN_ACLOSE ? "aclose" : "athrow");
            goto error;
        }
        if (op->mode != ASY_AGEN_ASEND && g->ag_closed && g->state == ASY_GEN_SUSPENDED) {
            /* CPython's athrow of a generator closed but not finished: one that ignored
             * GeneratorExit */
            op->used = 2;
            raise_empty(vm, ASY_EXC_StopAsyncIteration);
            goto error;
        }
        if (op->mode == ASY_AGEN_ACLOSE) g->ag_closed = 1;
        if (g->state == ASY_GEN_CLOSED ||
            (op->mode != ASY_AGEN_ASEND && g->state == ASY_GEN_CREATED)) {
            op->used = 2;
            g->ag_closed = 1;
            if (op->mode == ASY_AGEN_ASEND) {
                raise_empty(vm, ASY_EXC_StopAsyncIteration);
                goto error;
            }
            g->state = ASY_GEN_CLOSED;
            if (op->mode == ASY_AGEN_ACLOSE) {
                vset(sp - 1, ASY_NONE);
                DISPATCH();
            }
            vm->exc = (AsyException *)ASY_AS_OBJ(op->value);
            goto error;
        }
        if (op->mode == ASY_AGEN_ASEND && g->state == ASY_GEN_CREATED && !ASY_IS_NONE(op->value)) {
            op->used = 2;
            asy_raise(vm, ASY_EXC_TypeError,
                      "can't send non-None value to a just-started async generator");
            goto error;
        }
        SYNC();
        bool throwing = op->mode != ASY_AGEN_ASEND;
        if (!asy_gen_push(vm, fiber, g, ASY_RESUME_ASEND, throwing ? ASY_UNDEF : op->value)) {
            RESYNC();
            goto error;
        }
        LOAD_FRAME();
        if (throwing) {
            AsyValue exc = op->value;
            if (op->mode == ASY_AGEN_ACLOSE && ASY_IS_UNDEF(exc)) {
                /* (an aclose() task cancelled before it began throws that instead) */
                exc = asy_exc_new(vm, vm->exc_types[ASY_EXC_GeneratorExit], 0, NULL);
                CHECK(exc);
            }
            vm->exc = (AsyException *)ASY_AS_OBJ(exc);
            goto error;
        }
        DISPATCH();
    }

    TARGET(YIELD_VALUE) {
        v = *--sp;
        goto do_yield;
    }

    TARGET(GET_YIELD_FROM_ITER) {
        AsyValue o = sp[-1];
        if (is_type(vm, o, ASY_TYPE_generator)) DISPATCH();
        SYNC();
        v = asy_iter(vm, o);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(YIELD_FROM) {
        AsyValue it = sp[-2], sent = sp[-1];
        if (ASY_UNLIKELY(is_type(vm, it, ASY_TYPE_coroutine_wrapper)) &&
            !asy_coro_wrapper_steps(vm, it))
            vset(sp - 2, it = asy_coro_unwrap(vm, it)); /* `yield from coro.__await__()` */
        if (is_type(vm, it, ASY_TYPE_generator) || is_type(vm, it, ASY_TYPE_coroutine)) {
            AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(it);
            if (g->state == ASY_GEN_CLOSED) {
                sp--;
                vset(sp - 1, ASY_NONE);
                DISPATCH();
            }
            if (!gen_can_start(vm, g)) goto error;
            if (g->state == ASY_GEN_CREATED && !ASY_IS_NONE(sent)) {
                asy_raise(vm, ASY_EXC_TypeError, "can't send non-None value to a just-started "
                          "generator");
                goto error;
            }
            sp--;
            SYNC();
            frame->sp = fiber->sp;
            if (!asy_gen_push(vm, fiber, g, ASY_RESUME_YIELD_FROM, sent)) {
                RESYNC();
                goto error;
            }
            LOAD_FRAME();
            DISPATCH();
        }
        SYNC();
        /* send(None) rather than next() for a native awaitable's wrapper: its result is
         * StopIteration's value */
        if (ASY_IS_NONE(sent) && !asy_coro_wrapper_steps(vm, it)) {
            v = asy_next(vm, it);
        } else {
            AsyValue send = asy_vm_lookup_special(vm, it, ASY_S(vm, send));
            if (ASY_IS_UNDEF(send)) {
                v = asy_raise(vm, ASY_EXC_AttributeError, "'%s' object has no attribute 'send'",
                              asy_type_name(vm, it));
            } else if (!ASY_IS_ERR(send)) {
                asy_root_push(vm, send);
                v = asy_call(vm, send, 1, &sent, NULL);
                asy_root_pop(vm, 1);
                if (ASY_IS_ERR(v) && asy_exc_matches(vm, ASY_EXC_StopIteration)) {
                    AsyValue rv = vm->exc->value;
                    asy_exc_clear(vm);
                    RESYNC();
                    sp--;
                    vset(sp - 1, ASY_IS_UNDEF(rv) ? ASY_NONE : rv);
                    DISPATCH();
                }
            } else {
                v = ASY_ERR;
            }
        }
        RESYNC();
        CHECK(v);
        sp--;
        if (ASY_IS_UNDEF(v)) {
            vset(sp - 1, ASY_NONE);
            DISPATCH();
        }
        ip--; /* re-executed with the next sent value */
        goto do_yield;
    }

    TARGET(GET_AITER) {
        AsyValue o = sp[-1];
        SYNC();
        AsyValue m = asy_vm_lookup_special(vm, o, ASY_S(vm, __aiter__));
        if (ASY_IS_UNDEF(m)) {
            asy_raise(vm, ASY_EXC_TypeError, "'async for' requires an object with __aiter__ method, got %s",
                      asy_type_name(vm, o));
            m = ASY_ERR;
        }
        if (!ASY_IS_ERR(m)) {
            asy_root_push(vm, m);
            v = asy_call(vm, m, 0, NULL, NULL);
            asy_root_pop(vm, 1);
        } else {
            v = ASY_ERR;
        }
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(GET_ANEXT) {
        AsyValue ait = sp[-1];
        SYNC();
        AsyValue m = asy_vm_lookup_special(vm, ait, ASY_S(vm, __anext__));
        if (ASY_IS_UNDEF(m)) {
            asy_raise(vm, ASY_EXC_TypeError,
                      "'async for' received an object from __aiter__ that does not implement "
                      "__anext__: %s", asy_type_name(vm, ait));
            m = ASY_ERR;
        }
        if (!ASY_IS_ERR(m)) {
            asy_root_push(vm, m);
            v = asy_call(vm, m, 0, NULL, NULL);
            asy_root_pop(vm, 1);
            if (!ASY_IS_ERR(v)) {
                asy_root_push(vm, v);
                v = asy_vm_get_awaitable(vm, v);
                asy_root_pop(vm, 1);
            }
        } else {
            v = ASY_ERR;
        }
        RESYNC();
        CHECK(v);
        PUSH(v);
        DISPATCH();
    }

    TARGET(END_ASYNC_FOR) {
        AsyValue exc = sp[-1];
        if (asy_isinstance(vm, exc, vm->exc_types[ASY_EXC_StopAsyncIteration])) {
            fiber->handled = asy_obj_or_null(sp[-2]);
            sp -= 3;
            DISPATCH();
        }
        fiber->handled = asy_obj_or_null(sp[-2]);
        sp -= 3;
        vm->exc = (AsyException *)ASY_AS_OBJ(exc);
        goto reraise;
    }

    TARGET(IMPORT_NAME) {
        SYNC();
        v = asy_import_name(vm, co->names[ARG], sp[-1]);
        RESYNC();
        CHECK(v);
        vset(sp - 1, v);
        DISPATCH();
    }

    TARGET(IMPORT_FROM) {
        AsyValue m = sp[-1];
        AsyStr *name = co->names[ARG];
        SYNC();
        v = asy_getattr(vm, m, name);
        if (ASY_IS_ERR(v) && asy_exc_matches(vm, ASY_EXC_AttributeError)) {
            asy_exc_clear(vm);
            const char *mname = "?";
            const char *where = "unknown location";
            if (is_type(vm, m, ASY_TYPE_module)) {
                AsyModule *mod = (AsyModule *)ASY_AS_OBJ(m);
                if (mod->name) mname = mod->name->data;
                if (mod->file) where = mod->file->data;
            }
            asy_raise(vm, ASY_EXC_ImportError, "cannot import name '%U' from '%s' (%s)", name,
                      mname, where);
        }
        RESYNC();
        CHECK(v);
        PUSH(v);
        DISPATCH();
    }

    TARGET(IMPORT_STAR) {
        AsyValue m = sp[-1];
        AsyDict *ns = FRAME_NS(frame) ? frame->ns : frame->globals;
        if (!is_type(vm, m, ASY_TYPE_module)) {
            asy_raise(vm, ASY_EXC_TypeError, "import * requires a module");
            goto error;
        }
        SYNC();
        int made = asy_module_make_all(vm, (AsyModule *)ASY_AS_OBJ(m));
        RESYNC();
        if (made < 0) goto error;
        AsyDict *md = ((AsyModule *)ASY_AS_OBJ(m))->dict;
        int64_t pos = 0;
        AsyValue k, val;
        while (asy_dict_next(md, &pos, &k, &val)) {
            if (!is_type(vm, k, ASY_TYPE_str) || as_str(k)->data[0] == '_') continue;
            if (asy_dict_set(vm, ns, k, val) < 0) goto error;
        }
        sp--;
        DISPATCH();
    }

    TARGET(PRINT_EXPR) {
        AsyValue x = sp[-1];
        if (!ASY_IS_NONE(x)) {
            SYNC();
            AsyValue r = asy_repr(vm, x);
            RESYNC();
            CHECK(r);
            fprintf(vm->out, "%s\n", as_str(r)->data);
            if (asy_dict_set_cstr(vm, vm->builtins->dict, "_", x) < 0) goto error;
        }
        sp--;
        DISPATCH();
    }

    TARGET(SETUP_ANNOTATIONS) {
        AsyDict *ns = FRAME_NS(frame) ? frame->ns : frame->globals;
        if (ASY_IS_UNDEF(asy_dict_get_str(vm, ns, ASY_S(vm, __annotations__)))) {
            AsyDict *d = asy_dict_new(vm);
            if (!d || asy_dict_set_str(vm, ns, ASY_S(vm, __annotations__), ASY_OBJ(d)) < 0)
                goto error;
        }
        DISPATCH();
    }

    TARGET(RETURN_GENERATOR) {
        asy_raise(vm, ASY_EXC_SystemError, "RETURN_GENERATOR is reserved");
        goto error;
    }

#if ASY_COMPUTED_GOTO
L_BAD_OPCODE:
#else
    default:
#endif
    asy_raise(vm, ASY_EXC_SystemError, "unknown opcode %d", (int)ASY_OP(ins));
    goto error;
#if !ASY_COMPUTED_GOTO
    }
#endif

    /* ---- returns other than the plain one ---- */
return_slow: {
        uint16_t flags = frame->flags;
        if (flags & ASY_FRAME_GEN) {
            AsyGenerator *g = (AsyGenerator *)frame->aux;
            AsyResumeKind kind = (AsyResumeKind)frame->resume;
            bool boundary = (flags & ASY_FRAME_BOUNDARY) != 0;
            asy_gen_finish(vm, fiber, g);
            if (boundary) {
                *out = v;
                fiber->nested--;
                return RUN_RETURN;
            }
            LOAD_FRAME();
            switch (kind) {
            case ASY_RESUME_FOR_ITER:
                sp--;
                ip = code_base + ASY_ARG(ip[-1]);
                break;
            case ASY_RESUME_ASEND: {
                AsyAgenOp *op = (AsyAgenOp *)ASY_AS_OBJ(sp[-1]);
                op->used = 2;
                g->ag_closed = 1;
                if (op->mode == ASY_AGEN_ACLOSE) { /* it caught GeneratorExit and returned */
                    vset(sp - 1, ASY_NONE);
                    break;
                }
                raise_empty(vm, ASY_EXC_StopAsyncIteration);
                goto error;
            }
            default: /* YIELD_FROM, AWAIT: the delegation's result replaces the iterator */
                vset(sp - 1, v);
                break;
            }
            SAFEPOINT();
            DISPATCH();
        }
        if (flags & ASY_FRAME_HANDLED) fiber->handled = frame->saved_handled;
        int32_t ret_sp = frame->ret_sp;
        AsyObj *aux = frame->aux;
        AsyDict *ns = frame->ns;
        int32_t nbases_arg = frame->nbases;
        fiber->nframes--;
        if (flags & ASY_FRAME_BOUNDARY) {
            fiber->sp = ret_sp;
            *out = v;
            fiber->nested--;
            return RUN_RETURN;
        }
        fiber->sp = ret_sp;
        LOAD_FRAME();
        if (flags & ASY_FRAME_INIT) {
            if (!ASY_IS_NONE(v)) {
                asy_raise(vm, ASY_EXC_TypeError, "__init__() should return None, not '%s'",
                          asy_type_name(vm, v));
                goto error;
            }
            v = ASY_OBJ(aux);
        } else if (flags & ASY_FRAME_CLASS) {
            int nbases = nbases_arg & 0xFFFF;
            int haskw = (nbases_arg & ASY_BUILD_CLASS_KW) != 0;
            AsyValue cell = v;
            /* body name bases.. [kw] ns are still on the stack above ret_sp: keep them rooted. */
            fiber->sp = ret_sp + nbases + 3 + haskw;
            sp = fiber->stack + fiber->sp;
            asy_root_push(vm, cell);
            SYNC();
            AsyDict *kw = haskw ? (AsyDict *)ASY_AS_OBJ(fiber->stack[ret_sp + 2 + nbases]) : NULL;
            AsyValue cls = asy_class_build(vm, as_str(fiber->stack[ret_sp + 1]),
                                           fiber->stack + ret_sp + 2, nbases, ns, kw);
            asy_root_pop(vm, 1);
            RESYNC();
            CHECK(cls);
            if (is_type(vm, cell, ASY_TYPE_cell)) ((AsyCell *)ASY_AS_OBJ(cell))->value = cls;
            sp = fiber->stack + ret_sp;
            v = cls;
        }
        PUSH(v);
        SAFEPOINT();
        DISPATCH();
    }

    /* ---- yields: v is the value, the top frame is a generator's ---- */
do_yield: {
        /* v goes to whoever resumed the top frame. yprop: it is not the frame's own yield
         * but one travelling down an await chain (only AWAIT frames can be crossed). */
        AsyGenerator *g = (AsyGenerator *)frame->aux;
        AsyResumeKind kind = (AsyResumeKind)frame->resume;
        if (kind == ASY_RESUME_AWAIT && can_suspend) {
            /* A yield reaching an await inside a task: the whole task suspends. */
            SYNC();
            *out = v;
            fiber->nested--;
            return RUN_SUSPEND;
        }
        if (!(frame->flags & ASY_FRAME_GEN)) {
            asy_raise(vm, ASY_EXC_RuntimeError, "await outside of a coroutine");
            ip++;
            goto error;
        }
        bool boundary = (frame->flags & ASY_FRAME_BOUNDARY) != 0;
        SYNC();
        if (!asy_gen_save(vm, fiber, g, (int32_t)(sp - fiber->stack))) goto error;
        if (boundary) {
            *out = v;
            fiber->nested--;
            return RUN_YIELD;
        }
        LOAD_FRAME();
        switch (kind) {
        case ASY_RESUME_FOR_ITER: PUSH(v); break;
        case ASY_RESUME_ASEND:
            if (yprop) {
                ip--; /* the awaiting frame suspends at its AWAIT on the asend too */
                goto do_yield;
            }
            ((AsyAgenOp *)ASY_AS_OBJ(sp[-1]))->used = 2;
            if (((AsyAgenOp *)ASY_AS_OBJ(sp[-1]))->mode == ASY_AGEN_ACLOSE) {
                asy_raise(vm, ASY_EXC_RuntimeError, "async generator ignored GeneratorExit");
                goto error;
            }
            vset(sp - 1, v);
            break;
        case ASY_RESUME_AWAIT:
            yprop = true;
            ip--;
            goto do_yield;
        case ASY_RESUME_YIELD_FROM:
            ip--; /* the delegating generator yields too, and re-runs its YIELD_FROM */
            goto do_yield;
        default: break;
        }
        DISPATCH();
    }

    /* ---- exceptions: vm->exc is pending, ip is past the failing instruction ---- */
error: {
        vm->pending_send = ASY_UNDEF; /* an AWAIT it was for will not run */
        if (ASY_UNLIKELY(!vm->exc))
            asy_raise(vm, ASY_EXC_SystemError, "error return without exception set");
        AsyException *exc = vm->exc;
        bool fresh = exc->traceback == NULL;
        if (!(co->cflags & ASY_CODE_HIDDEN))
            asy_traceback_push(vm, exc, co, (int32_t)(ip - code_base - 1));
        if (fresh) set_context(exc, asy_obj_or_none(fiber->handled));
        goto unwind;
    }
reraise:
unwind:
    for (;;) {
        if (frame->nblocks > 0) {
            if (!(frame->flags & (ASY_FRAME_HANDLED | ASY_FRAME_GEN))) {
                frame->saved_handled = fiber->handled;
                frame->flags |= ASY_FRAME_HANDLED;
            }
            AsyBlock b = asy_block_unpack(
                fiber->stack[frame->base + frame->code->blockbase + --frame->nblocks]);
            if (ASY_UNLIKELY(vm->owned_gens)) {
                SYNC();
                drop_owned_slots(vm, fiber, frame->base + b.depth, fiber->sp);
                RESYNC();
            }
            sp = fiber->stack + frame->base + b.depth;
            PUSH(asy_obj_or_none(fiber->handled));
            PUSH(ASY_OBJ(vm->exc));
            fiber->handled = &vm->exc->hdr;
            vm->exc = NULL;
            ip = code_base + b.handler;
            DISPATCH();
        }
        if (ASY_UNLIKELY(vm->owned_gens)) {
            SYNC();
            drop_owned_slots(vm, fiber, frame->base, fiber->sp);
            RESYNC();
        }
        uint16_t flags = frame->flags;
        bool boundary = (flags & ASY_FRAME_BOUNDARY) != 0;
        if (flags & ASY_FRAME_GEN) {
            AsyGenerator *g = (AsyGenerator *)frame->aux;
            AsyResumeKind kind = (AsyResumeKind)frame->resume;
            asy_gen_finish(vm, fiber, g);
            asy_gen_fix_stop_iteration(vm, g);
            if (boundary) {
                fiber->nested--;
                return RUN_ERROR;
            }
            LOAD_FRAME();
            if (kind == ASY_RESUME_ASEND) {
                AsyAgenOp *op = (AsyAgenOp *)ASY_AS_OBJ(sp[-1]);
                op->used = 2;
                bool ended = asy_exc_matches(vm, ASY_EXC_GeneratorExit) ||
                             asy_exc_matches(vm, ASY_EXC_StopAsyncIteration);
                if (ended) g->ag_closed = 1;
                if (op->mode == ASY_AGEN_ACLOSE && ended) {
                    asy_exc_clear(vm);
                    vset(sp - 1, ASY_NONE);
                    DISPATCH();
                }
            }
        } else {
            if (flags & ASY_FRAME_HANDLED) fiber->handled = frame->saved_handled;
            fiber->nframes--;
            if (boundary) {
                fiber->sp = frame->ret_sp;
                fiber->nested--;
                return RUN_ERROR;
            }
            LOAD_FRAME();
        }
        /* The exception passes through the caller at its current instruction. */
        if (!(co->cflags & ASY_CODE_HIDDEN))
            asy_traceback_push(vm, vm->exc, co, (int32_t)(ip - code_base - 1));
    }
}

/* ---- entry points ---- */

static bool enter_c_level(AsyVM *vm) {
    if (ASY_UNLIKELY(vm->c_depth >= ASY_MAX_C_DEPTH)) {
        asy_raise(vm, ASY_EXC_RecursionError,
                  "maximum recursion depth exceeded while calling a Python object");
        return false;
    }
    vm->c_depth++;
    return true;
}

AsyValue asy_call_with_tuple(AsyVM *vm, AsyValue callable, const AsyValue *items, int64_t n) {
    AsyTuple *t = asy_tuple_from_array(vm, items, n);
    if (!t) return ASY_ERR;
    asy_root_push(vm, ASY_OBJ(t));
    AsyValue arg = ASY_OBJ(t);
    AsyValue r = asy_call(vm, callable, 1, &arg, NULL);
    asy_root_pop(vm, 1);
    return r;
}

AsyValue asy_call(AsyVM *vm, AsyValue callable, int argc, AsyValue *argv, AsyDict *kw) {
    AsyValue self = ASY_UNDEF, f = callable;
    if (asy_is_bound_method(vm, callable)) {
        AsyBoundMethod *m = (AsyBoundMethod *)ASY_AS_OBJ(callable);
        if (!asy_is_function(vm, m->func)) {
            /* self prepended for any other callable */
            AsyValue small[SMALL_ARGS + 1], *args = small;
            size_t bytes = sizeof(AsyValue) * ((size_t)argc + 1);
            if (argc >= SMALL_ARGS && !(args = asy_mem_alloc(vm, bytes))) return ASY_ERR;
            args[0] = m->self;
            if (argc) memcpy(args + 1, argv, sizeof(AsyValue) * (size_t)argc);
            AsyValue r = asy_call(vm, m->func, argc + 1, args, kw);
            if (args != small) asy_mem_free(vm, args, bytes);
            return r;
        }
        self = m->self;
        f = m->func;
    }
    if (!asy_is_function(vm, f)) {
        if (asy_is_native(vm, f)) return asy_native_call(vm, (AsyNative *)ASY_AS_OBJ(f), argc, argv, kw);
        return type_of(vm, f)->call(vm, f, argc, argv, kw);
    }
    AsyFiber *fb = asy_fiber_current(vm);
    if (!fb || !enter_c_level(vm)) return ASY_ERR;
    int32_t old_sp = fb->sp;
    int32_t fs = old_sp;
    int nargs = argc + (ASY_IS_UNDEF(self) ? 0 : 1);
    AsyValue r = ASY_ERR;
    if (!asy_vm_ensure_stack(vm, fb, (int64_t)fs + nargs + 2)) goto done;
    /* callable, then the arguments, laid out as the VM's own calls are */
    fb->stack[fs] = f;
    if (!ASY_IS_UNDEF(self)) fb->stack[fs + 1] = self;
    if (argc) memcpy(fb->stack + fs + 1 + (nargs - argc), argv, sizeof(AsyValue) * (size_t)argc);
    fb->sp = fs + 1 + nargs;
    KwArgs k = {NULL, NULL, kw && kw->len ? kw : NULL, 0};
    AsyValue out = ASY_UNDEF;
    CallResult cr = asy_vm_call_function(vm, fb, (AsyFunction *)ASY_AS_OBJ(f), fs, fs + 1, fs + 1, NULL,
                                  nargs, k, -1, ASY_FRAME_BOUNDARY, ASY_UNDEF, &out);
    if (cr == CALL_VALUE) r = out;
    else if (cr == CALL_FRAME) {
        fb->frames[fb->nframes - 1].flags |= ASY_FRAME_BOUNDARY;
        /* A safepoint at the function's entry, as CPython's RESUME: a C loop calling back
         * into asy code (list() over an iterator class, min()'s key, ...) must collect and
         * see Ctrl-C and the step budget even when the function it calls has no call or
         * loop of its own. The frame holds everything by now, so collecting is safe; what
         * the safepoint raises is raised in the new frame, which the traceback shows. */
        AsyValue raised = ASY_UNDEF;
        if (asy_vm_safepoint(vm) < 0) {
            raised = ASY_OBJ(vm->exc);
            vm->exc = NULL;
        }
        RunStatus st = vm_run(vm, fb, false, raised, &out);
        if (st == RUN_RETURN) r = out;
    }
done:
    fb->sp = old_sp;
    vm->c_depth--;
    return r;
}

AsyValue asy_vm_run_code(AsyVM *vm, AsyCode *code, AsyDict *globals) {
    AsyFiber *fb = asy_fiber_current(vm);
    if (!fb || !enter_c_level(vm)) return ASY_ERR;
    int32_t old_sp = fb->sp;
    AsyValue r = ASY_ERR;
    int64_t size = asy_fiber_frame_size(code);
    if (!asy_fiber_ensure_stack(vm, fb, size)) goto done;
    AsyFrame *fr = asy_fiber_push_frame(vm, fb);
    if (!fr) goto done;
    fr->func = NULL;
    fr->code = code;
    fr->globals = globals;
    fr->ns = globals;
    fr->base = old_sp;
    fr->ret_sp = old_sp;
    fr->flags = ASY_FRAME_BOUNDARY | ASY_FRAME_MODULE;
    fr->saved_handled = fb->handled;
    int32_t nslots = code->blockbase + code->maxblocks;
    for (int32_t i = 0; i < nslots; i++) fb->stack[old_sp + i] = ASY_UNDEF;
    for (int32_t i = 0; i < code->ncells; i++) {
        AsyCell *c = asy_cell_new(vm, ASY_UNDEF);
        if (!c) { fb->nframes--; goto done; }
        fb->stack[old_sp + code->nlocals + i] = ASY_OBJ(c);
    }
    fb->sp = old_sp + nslots;
    AsyValue out;
    if (vm_run(vm, fb, false, ASY_UNDEF, &out) == RUN_RETURN) r = out;
done:
    fb->sp = old_sp;
    vm->c_depth--;
    return r;
}

/* Push the throw down a `yield from` chain: while the top generator frame is delegating
 * to a suspended generator, move that one onto the fiber too (CPython's _gen_throw). A
 * GeneratorExit instead closes the inner one first and is raised in the outer. */
static bool delegate_throw(AsyVM *vm, AsyFiber *fb, AsyValue exc) {
    bool closing = asy_isinstance(vm, exc, vm->exc_types[ASY_EXC_GeneratorExit]);
    for (;;) {
        AsyFrame *fr = &fb->frames[fb->nframes - 1];
        AsyOpcode op = ASY_OP(fr->code->code[fr->pc]);
        if (op != ASY_OP_YIELD_FROM && op != ASY_OP_AWAIT) return true;
        AsyValue inner = fb->stack[fb->sp - 1];
        if (!is_type(vm, inner, ASY_TYPE_generator) && !is_type(vm, inner, ASY_TYPE_coroutine)) {
            AsyAwaitFn slot = op == ASY_OP_AWAIT ? asy_vm_await_slot(type_of(vm, inner)) : NULL;
            AsyValue ignored;
            if (slot) slot(vm, inner, exc, ASY_AWAIT_ABANDONED, &ignored); /* its finally */
            return true;
        }
        AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(inner);
        if (g->state != ASY_GEN_SUSPENDED) return true;
        if (closing) {
            AsyValue close = asy_getattr(vm, inner, ASY_S(vm, close));
            if (ASY_IS_ERR(close)) return false;
            asy_root_push(vm, close);
            AsyValue r = asy_call(vm, close, 0, NULL, NULL);
            asy_root_pop(vm, 1);
            return !ASY_IS_ERR(r);
        }
        fr->pc++;
        AsyResumeKind kind = op == ASY_OP_AWAIT ? ASY_RESUME_AWAIT : ASY_RESUME_YIELD_FROM;
        if (!asy_gen_push(vm, fb, g, kind, ASY_UNDEF)) return false;
    }
}

int asy_vm_gen_resume(AsyVM *vm, AsyGenerator *g, AsyValue sent, AsyValue throw_exc,
                      AsyValue *out) {
    AsyFiber *fb = asy_fiber_current(vm);
    if (!fb || !enter_c_level(vm)) return -1;
    int32_t old_sp = fb->sp;
    int32_t old_frames = fb->nframes;
    int result = -1;
    asy_root_push(vm, ASY_OBJ(g));
    bool throwing = !ASY_IS_UNDEF(throw_exc);
    if (!asy_gen_push(vm, fb, g, ASY_RESUME_NATIVE, throwing ? ASY_UNDEF : sent)) goto done;
    fb->frames[fb->nframes - 1].flags |= ASY_FRAME_BOUNDARY;
    if (throwing) {
        if (!delegate_throw(vm, fb, throw_exc)) {
            /* the inner close failed: raise its error in the outer generator instead */
            throw_exc = ASY_OBJ(vm->exc);
            vm->exc = NULL;
        }
    }
    RunStatus st = vm_run(vm, fb, false, throwing ? throw_exc : ASY_UNDEF, out);
    if (st == RUN_YIELD) result = 1;
    else if (st == RUN_RETURN) result = 0;
done:
    asy_root_pop(vm, 1);
    if (result < 0) {
        /* leave nothing of ours on the fiber */
        fb->nframes = old_frames < fb->nframes ? old_frames : fb->nframes;
    }
    fb->sp = old_sp;
    vm->c_depth--;
    return result;
}

/* ---- tasks ---- */

bool asy_fiber_start_task(AsyVM *vm, AsyValue coro) {
    if (!asy_is_coroutine(vm, coro)) {
        asy_raise(vm, ASY_EXC_TypeError, "a coroutine was expected, got %R", coro);
        return false;
    }
    AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(coro);
    if (g->state != ASY_GEN_CREATED) {
        asy_raise(vm, ASY_EXC_RuntimeError, "cannot reuse already awaited coroutine");
        return false;
    }
    g->awaited = true;
    return true;
}

AsyRunStatus asy_fiber_resume(AsyVM *vm, AsyFiber *f, AsyValue send, AsyValue throw_exc,
                              bool complete_await, AsyValue *out) {
    if (f->state == ASY_FIBER_DONE || f->state == ASY_FIBER_RUNNING) {
        asy_raise(vm, ASY_EXC_RuntimeError, "cannot resume a %s task",
                  f->state == ASY_FIBER_DONE ? "finished" : "running");
        return ASY_RUN_ERROR;
    }
    AsyFiber *prev = vm->fiber;
    if (!enter_c_level(vm)) return ASY_RUN_ERROR;
    vm->fiber = f;
    AsyRunStatus status = ASY_RUN_ERROR;
    if (f->state == ASY_FIBER_NEW) {
        AsyGenerator *g = (AsyGenerator *)ASY_AS_OBJ(send); /* the task's coroutine */
        if (!asy_gen_push(vm, f, g, ASY_RESUME_AWAIT, ASY_NONE)) {
            f->state = ASY_FIBER_DONE;
            goto done;
        }
        f->frames[f->nframes - 1].flags |= ASY_FRAME_BOUNDARY;
    } else {
        AsyFrame *fr = &f->frames[f->nframes - 1];
        /* A suspension at a yield gets the sent value; one at an AWAIT re-executes it. */
        if (ASY_IS_UNDEF(throw_exc)) {
            if (ASY_OP(fr->code->code[fr->pc]) != ASY_OP_AWAIT) {
                f->stack[f->sp++] = send;
            } else if (complete_await) {
                f->stack[f->sp - 1] = send; /* what the AWAIT would have pushed */
                fr->pc++;
            }
        } else if (!delegate_throw(vm, f, throw_exc)) {
            throw_exc = ASY_OBJ(vm->exc);
            vm->exc = NULL;
        }
    }
    f->state = ASY_FIBER_RUNNING;
    AsyValue v = ASY_UNDEF;
    RunStatus st = vm_run(vm, f, true, throw_exc, &v);
    switch (st) {
    case RUN_SUSPEND:
        f->state = ASY_FIBER_SUSPENDED;
        status = ASY_RUN_SUSPENDED;
        *out = v;
        break;
    case RUN_RETURN:
        f->state = ASY_FIBER_DONE;
        status = ASY_RUN_DONE;
        *out = v;
        break;
    default:
        f->state = ASY_FIBER_DONE;
        status = ASY_RUN_ERROR;
        break;
    }
done:
    vm->fiber = prev;
    vm->c_depth--;
    return status;
}

/* ---- initialisation ---- */

void asy_vm_init_runtime(AsyVM *vm) {
    asy_generator_init(vm);
    asy_function_init_late(vm);
}

AsyDict *asy_vm_globals(AsyVM *vm) {
    AsyFiber *f = vm->fiber;
    if (!f || f->nframes == 0) return NULL;
    return f->frames[f->nframes - 1].globals;
}

AsyValue asy_vm_handled_exception(AsyVM *vm) {
    return vm->fiber ? asy_obj_or_none(vm->fiber->handled) : ASY_NONE;
}
